"""File templates of ``gateway init`` (see gateway/scaffold.py). ``__NAME__`` marks a blank."""

EXAMPLE_WIDGET = """\
/*
---
# One file = one widget. The keys are OpenBB Workspace's own widgets.json names.
name: Prices
description: Daily closes of one ticker (an example on the demo tables; replace it with yours).
category: Examples
staleTime: 60000          # ms: Workspace refetches after this, and the gateway caches as long
params:
  - paramName: ticker
    type: endpoint
    label: Ticker
    optionsQuery: tickers # the dropdown is filled by queries/tickers.sql
    value: AAPL
  - paramName: start
    type: date
    label: From
    value: $currentDate-3M
---
*/
SELECT date, close, volume
FROM prices
WHERE symbol = :ticker
  AND date >= :start
ORDER BY date
"""

OPTIONS_QUERY = """\
/*
---
widget: false   # not a widget: it fills dropdowns, served at /options/tickers
description: Tickers for the dropdown of prices.sql.
---
*/
-- Options queries return `value` and, optionally, `label`.
SELECT symbol AS value,
       symbol || ' - ' || name AS label
FROM tickers
ORDER BY symbol
"""

COMPOSE = """\
# `docker-compose up`: a demo PostgreSQL with sample data + the gateway on http://localhost:8000,
# with the API key of .env. Your own database instead: set GATEWAY_DATABASE in .env, then
#   docker-compose up -d --no-deps gateway
# Edits under ./queries go live without a restart (GATEWAY_RELOAD). See README.md.

services:
  postgres:
    image: postgres:16
    environment:
      POSTGRES_USER: gateway
      POSTGRES_PASSWORD: gateway  # reachable only inside the compose network
      POSTGRES_DB: gateway
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U gateway -d gateway"]
      interval: 5s
      timeout: 3s
      retries: 20

  migrate:
    image: __IMAGE____BUILD__
    # Demo schema and data, in the bundled PostgreSQL only (never in GATEWAY_DATABASE).
    command: ["gateway", "demo", "--database", "postgresql://gateway:gateway@postgres:5432/gateway"]
    depends_on:
      postgres:
        condition: service_healthy
    restart: "no"

  gateway:
    image: __IMAGE____BUILD__
    ports:
      - "${GATEWAY_PORT:-8000}:8000"
    environment:
      GATEWAY_DATABASE: ${GATEWAY_DATABASE:-postgresql://gateway:gateway@postgres:5432/gateway}
      GATEWAY_API_KEY: ${GATEWAY_API_KEY:-}
      GATEWAY_CACHE_URL: ${GATEWAY_CACHE_URL:-memory}
      GATEWAY_RELOAD: ${GATEWAY_RELOAD:-true}
      GATEWAY_LOG_FORMAT: ${GATEWAY_LOG_FORMAT:-json}
    volumes:
      - ./queries:/app/queries:ro
      - ./gateway.toml:/app/gateway.toml:ro
    extra_hosts:  # a database on the Docker host is host.docker.internal (Linux too)
      - "host.docker.internal:host-gateway"
    depends_on:
      migrate:
        condition: service_completed_successfully
    restart: unless-stopped

  redis:
    # Shared cache for several gateway replicas:
    #   GATEWAY_CACHE_URL=redis://redis:6379/0 docker-compose --profile redis up
    image: redis:7-alpine
    profiles: ["redis"]
    command: ["redis-server", "--save", "", "--appendonly", "no"]

volumes:
  pgdata:
"""

ENV = """\
# Read by docker-compose. Holds secrets: never commit it (.gitignore lists it).
# Workspace sends this key as the X-API-Key header (or the api_key query parameter).
GATEWAY_API_KEY=__API_KEY__
# Your own database (read-only role recommended), instead of the bundled demo PostgreSQL:
# GATEWAY_DATABASE=postgresql://reader:secret@db.example.com:5432/warehouse
# GATEWAY_PORT=8000
"""

GITIGNORE = """\
.env
.gateway/
*.key
"""

README = """\
# OpenBB Workspace backend

Every `.sql` file in `queries/` is a widget of OpenBB Workspace, served by
[gateway](__SOURCE__). Edit `queries/prices.sql`, or add files next to it.

## Run it

```sh
docker-compose up          # demo PostgreSQL + sample data + the gateway on http://localhost:8000
```

In Workspace: **Data connectors -> Add data -> Custom backend**, URL `http://localhost:8000`,
and the key from `.env` as header `X-API-Key` (or query parameter `api_key`).

Your own database: put `GATEWAY_DATABASE=postgresql://reader:secret@host:5432/db` in `.env`,
write queries on its tables, then `docker-compose up -d --no-deps gateway`.

Without Docker: `gateway serve` in this folder (the embedded SQLite demo), or
`gateway serve --database postgresql://...`.

## Work on it

- `gateway check` validates every file (`path:line: message` per problem);
  `gateway check --offline` needs no database.
- Files under `queries/` are reloaded while the server runs; a broken edit is refused (the
  previous version keeps serving) and logged with its `path:line`.
- `gateway config` prints the effective configuration (secrets masked); `gateway.toml` lists
  every setting.
- `GET /metrics` (with the API key) serves Prometheus metrics; logs are JSON lines in compose
  (`docker-compose logs -f gateway`).

The image `__IMAGE__` is built from `__SOURCE__` the first time; elsewhere, build it there with
`docker build -t __IMAGE__ .` first.
"""
