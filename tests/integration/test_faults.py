"""Database faults never take the gateway down nor hang a client: a database that is down, cut,
stalled or kills a session mid-query gives a bounded 503/504 in the canonical shape (nothing
leaked), requests needing no database keep answering, and the same process recovers on its own
once the database is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gateway.settings import DatabaseSettings, Settings
from gateway.sources import open_source
from tests.conftest import Backend, make_settings, running
from tests.faults import (
    FaultProxy,
    admin,
    assert_error,
    fault_proxy,
    gateway_sessions,
    leak_guard,  # noqa: F401  (autouse: no connection outlives a module)
    marker,
    wait_until,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres]

TRIVIAL = "/*\n---\nname: Trivial\ncache: false\n---\n*/\nSELECT 1 AS one\n"


def sleeper(tag: str, seconds: float) -> str:
    """A widget holding its connection ``seconds`` on the server; ``tag`` finds its session."""
    return (
        f"/*\n---\nname: Sleeper\ncache: false\n---\n*/\n"
        f"SELECT pg_sleep({seconds}) IS NULL AS slept, '{tag}' AS tag\n"
    )


def through(proxy: FaultProxy, backend: Backend, queries: Path, **overrides: object) -> Settings:
    """Settings for ``queries`` on ``backend``, reached through ``proxy``."""
    db = DatabaseSettings("default", proxy.url(backend), search_path=backend.search_path, pool_size=2)
    return make_settings(backend, queries_dir=queries, databases={"default": db}, **overrides)


async def test_a_database_down_at_start_answers_503_and_recovers_without_a_restart(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with fault_proxy() as proxy:
        proxy.cut()
        async with running(through(proxy, pg_backend, queries, connect_timeout_s=2.0)) as client:
            assert (await client.get("/health")).status_code == 200
            assert (await client.get("/widgets.json")).status_code == 200
            assert_error(await client.get("/ready"), 503, "database_unavailable")
            started = time.monotonic()
            assert_error(await client.get("/sql/trivial"), 503, "database_unavailable")
            assert time.monotonic() - started < 5
            proxy.restore()
            recovered = await client.get("/sql/trivial")
            assert recovered.status_code == 200 and recovered.json() == [{"one": 1}]
            assert (await client.get("/ready")).status_code == 200


async def test_a_database_cut_while_serving_answers_503_then_recovers(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with fault_proxy() as proxy, running(through(proxy, pg_backend, queries)) as client:
        assert (await client.get("/sql/trivial")).status_code == 200  # a pooled connection
        proxy.cut()
        started = time.monotonic()
        assert_error(await client.get("/sql/trivial"), 503, "database_unavailable")
        assert time.monotonic() - started < 5
        assert (await client.get("/health")).status_code == 200
        proxy.restore()
        assert (await client.get("/sql/trivial")).status_code == 200


async def test_a_stalled_network_ends_in_a_bounded_error_and_recovers(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with fault_proxy() as proxy:
        settings = through(proxy, pg_backend, queries, connect_timeout_s=1.0, statement_timeout_ms=1000)
        async with running(settings) as client:
            assert (await client.get("/sql/trivial")).status_code == 200
            proxy.stall()
            started = time.monotonic()
            stalled = await client.get("/sql/trivial")
            elapsed = time.monotonic() - started
            assert stalled.status_code in (503, 504), stalled.text
            assert_error(stalled, stalled.status_code, stalled.json()["code"])
            assert stalled.json()["code"] in ("database_unavailable", "query_timeout")
            assert elapsed < 6, elapsed  # the statement budget plus a backstop, never a hang
            assert (await client.get("/widgets.json")).status_code == 200
            proxy.restore()
            assert (await client.get("/sql/trivial")).status_code == 200


async def _kill_sessions(tag: str, for_s: float) -> int:
    """Terminate every gateway session running ``tag`` for ``for_s`` seconds; how many died."""
    killed = 0
    deadline = time.monotonic() + for_s
    while time.monotonic() < deadline:
        for pid in await gateway_sessions(tag):
            rows = await admin("SELECT pg_terminate_backend($1) AS ok", pid)
            killed += bool(rows[0]["ok"])
        await asyncio.sleep(0.05)
    return killed


async def test_a_backend_killed_mid_query_fails_that_request_cleanly_and_the_next_50_succeed(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    tag = marker()
    queries = write_queries({"sleeper.sql": sleeper(tag, 2), "trivial.sql": TRIVIAL})
    settings = make_settings(
        pg_backend, queries_dir=queries, databases={"default": pg_backend.database(pool_size=3)}
    )
    async with running(settings) as client:
        request = asyncio.create_task(client.get("/sql/sleeper"))
        # Killing it again and again also defeats the one retry a lost connection gets.
        killed = await _kill_sessions(tag, for_s=3.0)
        response = await request
        assert killed >= 2
        assert_error(response, 503, "database_unavailable")
        results = await asyncio.gather(*(client.get("/sql/trivial") for _ in range(50)))
        assert [r.status_code for r in results] == [200] * 50
        assert client.app.state.gateway.sources["default"].engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_one_killed_session_is_hidden_by_a_retry_on_a_fresh_connection(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    tag = marker()
    queries = write_queries({"sleeper.sql": sleeper(tag, 1)})
    async with running(make_settings(pg_backend, queries_dir=queries)) as client:
        request = asyncio.create_task(client.get("/sql/sleeper"))
        assert await wait_until(lambda: gateway_sessions(tag), timeout_s=5)
        [pid] = await gateway_sessions(tag)
        await admin("SELECT pg_terminate_backend($1)", pid)
        response = await request
        assert response.status_code == 200 and response.json()[0]["tag"] == tag
        assert pid not in await gateway_sessions(tag, state="idle")


async def _abandon(client: httpx.AsyncClient, path: str) -> asyncio.StreamWriter:
    """Send a GET on a raw socket and return it open (closing it is the client leaving)."""
    url = httpx.URL(str(client.base_url))
    _, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {url.host}\r\n\r\n".encode())
    await writer.drain()
    return writer


async def test_a_client_disconnect_cancels_its_pg_query_at_once(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    tag = marker()
    queries = write_queries({"sleeper.sql": sleeper(tag, 5), "trivial.sql": TRIVIAL})
    settings = make_settings(
        pg_backend,
        queries_dir=queries,
        pool_timeout_s=5,
        databases={"default": pg_backend.database(pool_size=1)},
    )
    async with running(settings) as client:
        writer = await _abandon(client, "/sql/sleeper")
        assert await wait_until(lambda: gateway_sessions(tag), timeout_s=5)
        writer.close()
        started = time.monotonic()
        assert await wait_until(lambda: _none_active(tag), timeout_s=1.5), "the query outlived its client"
        # The only connection is free again at once (not after the 5 s sleep).
        follow_up = await client.get("/sql/trivial")
        assert follow_up.status_code == 200
        assert time.monotonic() - started < 3


async def _none_active(tag: str) -> bool:
    return not await gateway_sessions(tag)


async def test_a_waiting_request_takes_over_when_the_first_client_of_a_key_leaves(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    tag = marker()
    cached = sleeper(tag, 1).replace("cache: false", "staleTime: 60000")
    queries = write_queries({"sleeper.sql": cached})
    async with running(make_settings(pg_backend, queries_dir=queries)) as client:
        writer = await _abandon(client, "/sql/sleeper")
        assert await wait_until(lambda: gateway_sessions(tag), timeout_s=5)
        follower = asyncio.create_task(client.get("/sql/sleeper"))
        await asyncio.sleep(0.2)  # the follower now waits on the first request's computation
        writer.close()
        response = await follower
        assert response.status_code == 200 and response.json()[0]["tag"] == tag
        # The abandoned query was cancelled, so the waiting request ran its own.
        assert client.app.state.gateway.executor.executions["sleeper"] == 2  # type: ignore[attr-defined]


async def test_clients_leaving_in_waves_never_cost_later_requests_a_503(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    """Cancelled queries invalidate their connections and recycle the pool, some of them while
    other requests are connecting: whatever is left in the pool must still serve the next ones."""
    tag = marker()
    queries = write_queries({"sleeper.sql": sleeper(tag, 0.3), "trivial.sql": TRIVIAL})
    settings = make_settings(
        pg_backend, queries_dir=queries, databases={"default": pg_backend.database(pool_size=3)}
    )
    async with running(settings) as client:
        for wave in range(12):
            writers = [await _abandon(client, "/sql/sleeper") for _ in range(6)]
            await asyncio.sleep(0.02 * (wave % 6))  # leave at different points: queued, connecting, running
            for writer in writers:
                writer.close()
            answers = await asyncio.gather(*(client.get("/sql/trivial") for _ in range(12)))
            failed = [a.text for a in answers if a.status_code != 200]
            assert not failed, failed
        assert await wait_until(lambda: _none_active(tag), timeout_s=2)


async def test_a_pool_recycled_after_a_cancelled_query_never_hands_out_a_dead_connection(
    pg_backend: Backend,
) -> None:
    """A cancelled query invalidates its connection (its record goes back to the pool without
    one) and asks for a pool recycle; requests arriving while the recycle closes the old pool's
    connections must get live ones, not a 503."""
    settings = make_settings(pg_backend, databases={"default": pg_backend.database(pool_size=3)})
    source = open_source(settings.databases["default"], settings)

    async def one_query() -> int:
        async with source.connection() as conn:
            return int(await conn.fetchval("SELECT 1"))

    try:
        for _ in range(10):
            assert await asyncio.gather(*(one_query() for _ in range(3))) == [1, 1, 1]  # 3 idle
            with pytest.raises(asyncio.CancelledError):
                async with source.connection():
                    raise asyncio.CancelledError  # as a client leaving mid-query does
            assert await asyncio.gather(*(one_query() for _ in range(3))) == [1, 1, 1]
    finally:
        await source.close()
