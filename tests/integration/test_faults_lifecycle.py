"""The server's life never costs a request: SIGTERM lets the running query finish (200) before a
clean exit 0, a client that leaves stops its SQLite query too, and a broken edit under --reload
keeps the last good catalog serving while the log names the file and line."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, Backend, make_settings, running
from tests.faults import (
    gateway_sessions,
    leak_guard,  # noqa: F401  (autouse: no connection outlives a module)
    marker,
    wait_until,
)

pytestmark = pytest.mark.asyncio

TRIVIAL = "/*\n---\nname: Trivial\ncache: false\n---\n*/\nSELECT 1 AS one\n"
HEAVY = """/*
---
name: Heavy
cache: false
---
*/
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000000000)
SELECT COUNT(*) AS c FROM s
"""


def versioned(version: int, extra: str = "") -> str:
    return f"/*\n---\nname: Versioned\n{extra}---\n*/\nSELECT {version} AS version\n"


@contextmanager
def gateway_process(args: list[str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m gateway serve ARGS`` with its output in ``cwd/serve.log``; killed if still up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    with (cwd / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", *args], cwd=cwd, env=env, stdout=log, stderr=log
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_sigterm_during_a_query_lets_it_finish_with_200_and_exits_0(
    pg_backend: Backend, write_queries: Callable[..., Path], tmp_path: Path
) -> None:
    tag = marker()
    sleeper = f"/*\n---\nname: Sleeper\ncache: false\n---\n*/\nSELECT pg_sleep(2), '{tag}' AS tag\n"
    queries = write_queries({"sleeper.sql": sleeper})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["--port", str(port), "--database", PG_ADMIN_URL, "--queries", str(queries)]
    with gateway_process(args, tmp_path) as proc:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            log = tmp_path / "serve.log"
            assert await wait_until(lambda: _answers(client), timeout_s=30), log.read_text()
            request = asyncio.create_task(client.get("/sql/sleeper"))
            assert await wait_until(lambda: gateway_sessions(tag), timeout_s=5)
            proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            async with httpx.AsyncClient(timeout=2) as fresh:
                with pytest.raises(httpx.ConnectError):  # no new connections while draining
                    await fresh.get(f"{base}/health")
            response = await request
            assert response.status_code == 200, response.text
            assert response.json()[0]["tag"] == tag
        started = time.monotonic()
        code = await asyncio.to_thread(proc.wait, 15)
        assert code == 0, (tmp_path / "serve.log").read_text()
        assert time.monotonic() - started < 10
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


async def _answers(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/health")).status_code == 200
    except httpx.TransportError:
        return False


async def test_a_client_disconnect_stops_its_sqlite_query(
    sqlite_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"heavy.sql": HEAVY, "trivial.sql": TRIVIAL})
    settings = make_settings(
        sqlite_backend,
        queries_dir=queries,
        statement_timeout_ms=30_000,
        pool_timeout_s=5,
        databases={"default": sqlite_backend.database(pool_size=1)},
    )
    async with running(settings) as client:
        url = httpx.URL(str(client.base_url))
        _, writer = await asyncio.open_connection(url.host, url.port)
        writer.write(b"GET /sql/heavy HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)  # counting towards 10^9 on the only connection
        writer.close()
        started = time.monotonic()
        # With one connection this only answers once the heavy statement really stopped.
        follow_up = await client.get("/sql/trivial")
        assert follow_up.status_code == 200, follow_up.text
        assert time.monotonic() - started < 3


async def test_a_broken_edit_under_reload_keeps_the_last_good_catalog_and_logs_path_line(
    backend: Backend, write_queries: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.reload")
    queries = write_queries({"versioned.sql": versioned(1)})
    path = queries / "versioned.sql"
    async with running(make_settings(backend, queries_dir=queries, reload=True)) as client:
        manifest = (await client.get("/widgets.json")).content
        assert (await client.get("/sql/versioned")).json() == [{"version": 1}]

        path.write_text(versioned(2, extra="colour: red\n"), encoding="utf-8")  # unknown key, line 4
        assert await wait_until(lambda: _logged(caplog, "reload rejected"), timeout_s=6)
        assert f"{path}:4:" in caplog.text
        assert (await client.get("/widgets.json")).content == manifest
        assert (await client.get("/sql/versioned")).json() == [{"version": 1}]

        path.write_text(versioned(3), encoding="utf-8")
        assert await wait_until(lambda: _serves(client, [{"version": 3}]), timeout_s=6)


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return text in caplog.text


async def _serves(client: httpx.AsyncClient, expected: object) -> bool:
    response = await client.get("/sql/versioned")
    return response.status_code == 200 and response.json() == expected
