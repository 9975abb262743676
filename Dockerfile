# gateway: a folder of SQL files as an OpenBB Workspace backend.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY migrations ./migrations
COPY queries ./queries
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 gateway
COPY --from=build /install /usr/local
COPY alembic.ini /app/alembic.ini
COPY migrations /app/migrations
COPY queries /app/queries
WORKDIR /app
USER gateway
ENV GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    GATEWAY_QUERIES=/app/queries \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"GATEWAY_PORT\", \"8000\")}/health', timeout=2)"
CMD ["gateway", "serve"]
