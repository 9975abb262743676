"""Limits hold at the edges (TO-1, SIZE-1): a query over its time budget is cancelled on the server
itself (nothing left running), and request heads or bodies of any size are refused with a 4xx
(400 from the server for a URL over ~64 KiB, 431 for headers, 405/413 for bodies), never a 500."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from gateway.http.connection import MAX_HEADER_BYTES
from gateway.params import MAX_QUERY_FIELDS
from tests.conftest import Backend, make_settings, running
from tests.faults import (
    assert_error,
    gateway_sessions,
    leak_guard,  # noqa: F401  (autouse: no connection outlives a module)
    marker,
    wait_until,
)

TRIVIAL = "/*\n---\nname: Trivial\ncache: false\n---\n*/\nSELECT 1 AS one\n"


async def test_pg_a_timed_out_statement_is_cancelled_on_the_server_and_the_pool_reused(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    tag = marker()
    sleeper = f"/*\n---\nname: Sleep\ncache: false\n---\n*/\nSELECT pg_sleep(5), '{tag}' AS tag\n"
    queries = write_queries({"sleep.sql": sleeper, "trivial.sql": TRIVIAL})
    settings = make_settings(
        pg_backend,
        queries_dir=queries,
        statement_timeout_ms=300,
        databases={"default": pg_backend.database(pool_size=1)},
    )
    async with running(settings) as client:
        started = time.monotonic()
        assert_error(await client.get("/sql/sleep"), 504, "query_timeout", secrets=(tag,))
        assert time.monotonic() - started < 1.5
        assert await wait_until(lambda: _none_running(tag), timeout_s=1.0)
        assert (await client.get("/sql/trivial")).json() == [{"one": 1}]
        assert client.app.state.gateway.sources["default"].engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def _none_running(tag: str) -> bool:
    return not await gateway_sessions(tag)


async def raw_request(client: httpx.AsyncClient, head: bytes) -> tuple[int, bytes]:
    """Send ``head`` as-is on a new connection; the status and body of the answer."""
    url = httpx.URL(str(client.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(head)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_an_oversized_url_is_400_and_oversized_headers_431(
    sqlite_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with running(make_settings(sqlite_backend, queries_dir=queries, api_keys=("k",))) as client:
        query = b"api_key=k&p=" + b"x" * 100_000
        status, body = await raw_request(
            client, b"GET /sql/trivial?" + query + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert status == 400 and b"xxxx" not in body  # the server's own parser, before the app
        big = {"X-API-Key": "k", "X-Filler": "y" * MAX_HEADER_BYTES}
        assert_error(await client.get("/sql/trivial", headers=big), 431, "headers_too_large")
        fits = {"X-API-Key": "k", "X-Filler": "y" * (MAX_HEADER_BYTES // 2)}
        assert (await client.get("/sql/trivial", headers=fits)).status_code == 200


async def test_too_many_query_params_are_one_422_and_a_few_hundred_unknown_ones_are_ignored(
    sqlite_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with running(make_settings(sqlite_backend, queries_dir=queries)) as client:
        many = "&".join(f"k{i}=v{i}" for i in range(MAX_QUERY_FIELDS))
        assert (await client.get(f"/sql/trivial?{many}")).json() == [{"one": 1}]
        started = time.monotonic()
        query = "&".join(f"k{i}=v{i}" for i in range(4_000)).encode()
        status, body = await raw_request(
            client, b"GET /sql/trivial?" + query + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert status == 422 and b'"code":"invalid_parameter"' in body and b"k3999" not in body
        assert time.monotonic() - started < 3


async def test_a_chunked_body_of_unknown_length_is_refused_never_500(
    sqlite_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with running(make_settings(sqlite_backend, queries_dir=queries, max_body_bytes=1024)) as client:

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(200):
                yield b"z" * 10_000

        for path in ("/sql/trivial", "/options/trivial", "/widgets.json", "/ready"):
            response = await client.post(path, content=chunks())
            assert response.status_code in (405, 413), (path, response.text)
            assert_error(response, response.status_code, response.json()["code"])
        assert (await client.get("/sql/trivial")).status_code == 200
