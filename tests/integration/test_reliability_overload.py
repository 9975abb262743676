"""Overload is bounded (POOL-1, POOL-2, BP-1): with every connection busy a request waits at most
``pool_timeout_s`` and a full queue answers at once, both as 503 ``database_busy`` with
Retry-After (one warning per burst in the log), while everything that needs no database keeps
answering promptly; afterwards the pool is whole again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Backend, make_settings, running
from tests.faults import (
    assert_error,
    leak_guard,  # noqa: F401  (autouse: no connection outlives a module)
)

KEY = "overload-key"
HOLD_S = 3
# Holds its connection HOLD_S seconds on either database (SQLite: until its time limit).
HOLD = {
    "postgres": f"SELECT pg_sleep({HOLD_S}) IS NOT NULL AS held, CAST(:n AS integer) AS n",
    "sqlite": (
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000000000) "
        "SELECT COUNT(*) AS held, :n AS n FROM s"
    ),
}
CACHED = "/*\n---\nname: Cached\nstaleTime: 600000\n---\n*/\nSELECT symbol FROM tickers ORDER BY symbol\n"
TYPED = "/*\n---\nname: Typed\nparams:\n  - paramName: day\n    type: date\n---\n*/\nSELECT :day AS day\n"


def hold_widget(dialect: str) -> str:
    timeout = f"timeoutMs: {HOLD_S * 1000}\n" if dialect == "sqlite" else ""
    return (
        f"/*\n---\nname: Hold\ncache: false\n{timeout}params:\n  - paramName: n\n"
        f"    type: number\n    value: 1\n---\n*/\n{HOLD[dialect]}\n"
    )


@pytest.fixture
def saturating(backend: Backend, write_queries: Callable[..., Path]) -> Path:
    return write_queries({"hold.sql": hold_widget(backend.name), "cached.sql": CACHED, "typed.sql": TYPED})


def settings_for(backend: Backend, queries: Path) -> Settings:
    return make_settings(
        backend,
        queries_dir=queries,
        api_keys=(KEY,),
        pool_timeout_s=1.0,
        pool_queue_depth=2,
        cache_admission="always",
        statement_timeout_ms=20_000,
        databases={"default": backend.database(pool_size=2)},
    )


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


def held_status(backend: Backend) -> int:
    return 504 if backend.name == "sqlite" else 200


async def test_pool_exhaustion_waits_pool_timeout_then_503_while_the_rest_keeps_answering(
    backend: Backend, saturating: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.sources")
    auth = {"X-API-Key": KEY}
    async with running(settings_for(backend, saturating)) as client:
        assert (await client.get("/sql/cached", headers=auth)).status_code == 200  # now cached
        holds = [asyncio.create_task(client.get("/sql/hold", params={"n": i}, headers=auth)) for i in (1, 2)]
        await asyncio.sleep(0.5)  # both connections are now held

        # Four more: two wait pool_timeout_s in the queue, two find it full and are refused at once.
        busy = [
            asyncio.create_task(timed(client.get("/sql/hold", params={"n": 3}, headers=auth)))
            for _ in range(4)
        ]
        # Nothing below needs a connection, so all of it answers at once meanwhile.
        answers = [
            (client.get("/health"), 200),
            (client.get("/widgets.json", headers=auth), 200),
            (client.get("/sql/cached", headers=auth), 200),
            (client.get("/sql/hold", headers={"X-API-Key": "wrong"}), 401),
            (client.get("/sql/typed", params={"day": "2025-02-30"}, headers=auth), 422),
            (client.get("/sql/nope", headers=auth), 404),
            (client.options("/sql/hold", headers=_preflight()), 204),
        ]
        for request, status in answers:
            response, elapsed = await timed(request)
            assert response.status_code == status, (status, response.text)
            assert elapsed < 0.5, (status, elapsed)
        refused = await asyncio.gather(*busy)
        for response, _ in refused:
            assert_error(response, 503, "database_busy")
        waits = sorted(t for _, t in refused)
        assert waits[1] < 0.5 and waits[2] >= 0.8 and waits[3] < 2.5, waits

        assert [r.status_code for r in await asyncio.gather(*holds)] == [held_status(backend)] * 2
        after = await client.get("/sql/typed", params={"day": "2024-01-02"}, headers=auth)
        assert after.status_code == 200 and after.json() == [{"day": "2024-01-02"}]
        assert _checked_out(client) == 0
    busy_warnings = [r for r in caplog.records if "database_busy" in r.getMessage()]
    assert len(busy_warnings) == 1, [r.getMessage() for r in busy_warnings]


async def test_far_more_requests_than_pool_and_queue_are_refused_at_once(
    backend: Backend, saturating: Path
) -> None:
    auth = {"X-API-Key": KEY}
    async with running(settings_for(backend, saturating)) as client:
        assert (await client.get("/sql/cached", headers=auth)).status_code == 200
        started = time.monotonic()
        storm = [
            asyncio.create_task(timed(client.get("/sql/hold", params={"n": i}, headers=auth)))
            for i in range(12)
        ]
        await asyncio.sleep(0.3)
        hits = [await timed(client.get("/sql/cached", headers=auth)) for _ in range(50)]
        results = await asyncio.gather(*storm)
        statuses = sorted(r.status_code for r, _ in results)
        # Two ran, two waited pool_timeout_s in the queue, eight were refused without waiting.
        assert statuses == sorted([held_status(backend)] * 2 + [503] * 10), statuses
        refused_fast = [t for r, t in results if r.status_code == 503 and t < 0.6]
        assert len(refused_fast) >= 7, sorted(t for _, t in results)
        for response, _ in results:
            if response.status_code == 503:
                assert_error(response, 503, "database_busy")
        assert max(t for _, t in results) < HOLD_S + 3
        assert all(r.status_code == 200 for r, _ in hits)
        assert max(t for _, t in hits) < 0.5, max(t for _, t in hits)
        assert time.monotonic() - started < HOLD_S + 4
        assert _checked_out(client) == 0


def _preflight() -> dict[str, str]:
    return {
        "Origin": "https://pro.openbb.co",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-api-key",
    }


def _checked_out(client: httpx.AsyncClient) -> int:
    sources = client.app.state.gateway.sources  # type: ignore[attr-defined]
    return sum(int(source.engine.pool.checkedout()) for source in sources.values())
