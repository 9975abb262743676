# gateway: a folder of SQL files as an OpenBB Workspace backend.
#   docker build -t gateway .
#   docker run -p 8000:8000 -e GATEWAY_DATABASE=postgresql://... -v "$PWD/queries:/app/queries:ro" gateway
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY migrations ./migrations
COPY queries ./queries
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
# A fixed non-root uid: files mounted from the host only need to be readable by it.
RUN useradd --create-home --uid 10001 gateway \
 && mkdir /data && chown gateway /data
COPY --from=build /install /usr/local
COPY queries /app/queries
WORKDIR /app
USER gateway
# /app/queries: the demo queries, replaced by mounting your own folder there.
# /data: the only writable place (the embedded demo database when GATEWAY_DATABASE is unset).
ENV GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    GATEWAY_QUERIES=/app/queries \
    GATEWAY_DEMO_PATH=/data/demo.sqlite \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
EXPOSE 8000
# /health never needs the API key; with TLS on, it is checked over HTTPS (self-signed accepted).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import os, ssl, urllib.request as u; tls = bool(os.environ.get('GATEWAY_SSL_CERTFILE')); u.urlopen(f\"{'https' if tls else 'http'}://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}/health\", timeout=2, context=ssl._create_unverified_context())"
CMD ["gateway", "serve"]
