"""Transport security (TLS-1): over HTTPS with the generated certificate a trusting client gets data
and HSTS (except on loopback names, where browsers would pin HTTPS for every local port), and a
database URL demanding TLS from a server without it fails closed: 503, never a plaintext
fallback. libpq's ``sslmode=`` in a URL is honoured (asyncpg calls it ``ssl=``)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from gateway.http import create_app
from gateway.settings import DatabaseSettings, Settings
from gateway.tls import write_self_signed
from tests.conftest import Backend, make_settings, running
from tests.faults import (
    assert_error,
    leak_guard,  # noqa: F401  (autouse: no connection outlives a module)
)

TRIVIAL = "/*\n---\nname: Trivial\ncache: false\n---\n*/\nSELECT 1 AS one\n"


@asynccontextmanager
async def serving_tls(settings: Settings, certs: Path) -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    files = write_self_signed(certs)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        ssl_keyfile=str(files.keyfile),
        ssl_certfile=str(files.certfile),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the TLS server did not start"
        await asyncio.sleep(0.01)
    try:
        yield port, ssl.create_default_context(cafile=str(files.certfile))
    finally:
        server.should_exit = True
        await task


async def test_https_serves_a_trusting_client_and_sends_hsts_except_on_loopback_names(
    sqlite_backend: Backend, write_queries: Callable[..., Path], tmp_path: Path
) -> None:
    settings = make_settings(
        sqlite_backend, queries_dir=write_queries({"trivial.sql": TRIVIAL}), api_keys=("k",)
    )
    async with (
        serving_tls(settings, tmp_path / "tls") as (port, trusting),
        httpx.AsyncClient(verify=trusting, timeout=10) as client,
    ):
        for host in ("localhost", "127.0.0.1"):
            response = await client.get(f"https://{host}:{port}/sql/trivial", headers={"X-API-Key": "k"})
            assert response.status_code == 200 and response.json() == [{"one": 1}]
            assert "strict-transport-security" not in response.headers
        # The name a browser uses on the LAN or behind a proxy (the certificate still verifies).
        named = await client.get(
            f"https://127.0.0.1:{port}/sql/trivial", headers={"X-API-Key": "k", "Host": "gw.example.lan"}
        )
        assert named.status_code == 200
        assert named.headers["strict-transport-security"] == "max-age=31536000"
        denied = await client.get(f"https://127.0.0.1:{port}/sql/trivial", headers={"Host": "gw.example.lan"})
        assert_error(denied, 401, "unauthorized")
        assert "strict-transport-security" in denied.headers


async def test_plain_http_never_sends_hsts(
    sqlite_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    settings = make_settings(sqlite_backend, queries_dir=write_queries({"trivial.sql": TRIVIAL}))
    async with running(settings) as client:
        response = await client.get("/sql/trivial", headers={"Host": "gw.example.lan"})
        assert response.status_code == 200 and "strict-transport-security" not in response.headers


@pytest.mark.parametrize("query", ["sslmode=require", "sslmode=verify-full", "ssl=verify-full"])
async def test_a_url_demanding_tls_from_a_server_without_it_fails_closed(
    pg_backend: Backend, write_queries: Callable[..., Path], query: str
) -> None:
    db = DatabaseSettings("default", f"{pg_backend.url}?{query}", search_path=pg_backend.search_path)
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with running(make_settings(pg_backend, queries_dir=queries, databases={"default": db})) as client:
        assert_error(await client.get("/sql/trivial"), 503, "database_unavailable", secrets=(query,))
        assert_error(await client.get("/ready"), 503, "database_unavailable")


async def test_libpq_sslmode_disable_is_understood(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    # Passed to asyncpg unchanged, sslmode= made every connection attempt fail.
    db = DatabaseSettings("default", f"{pg_backend.url}?sslmode=disable", search_path=pg_backend.search_path)
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with running(make_settings(pg_backend, queries_dir=queries, databases={"default": db})) as client:
        assert (await client.get("/sql/trivial")).json() == [{"one": 1}]
