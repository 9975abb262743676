"""The response cache serves staleTime-fresh bodies without the database, runs one query for
any number of concurrent identical misses, never stores errors, and is shared through Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gateway.cache import MemoryStore, ResponseCache, make_entry
from gateway.cache.redis import RedisStore
from tests.conftest import REDIS_URL, Backend, make_settings, require_service, running

pytestmark = pytest.mark.asyncio

SLOW = {
    # ~0.3 s of work, so 50 concurrent requests overlap with the first one.
    "postgres": "SELECT pg_sleep(0.3)::text AS slept, CAST(:n AS integer) AS n",
    "sqlite": (
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1500000) "
        "SELECT COUNT(*) AS slept, :n AS n FROM s"
    ),
}


def slow_widget(dialect: str, extra_front_matter: str = "") -> str:
    return f"""/*
---
name: Slow
staleTime: 60000
{extra_front_matter}
params:
  - paramName: n
    type: number
    value: 1
---
*/
{SLOW[dialect]}
"""


# Fails at run time on both databases (integer overflow), after passing every load check.
BROKEN = "/*\n---\nname: Broken\n---\n*/\nSELECT abs(-9223372036854775807 - 1) AS x\n"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def executions(client: httpx.AsyncClient, widget: str = "slow") -> int:
    return int(client.app.state.gateway.executor.executions[widget])  # type: ignore[attr-defined]


@pytest.fixture
def slow_queries(backend: Backend, write_queries: Callable[..., Path]) -> Path:
    return write_queries(
        {
            "slow.sql": slow_widget(backend.name),
            "nocache.sql": slow_widget(backend.name, "cache: false"),
            "broken.sql": BROKEN,
        }
    )


async def test_fifty_concurrent_misses_run_one_query(backend: Backend, slow_queries: Path) -> None:
    async with running(make_settings(backend, slow_queries, cache_admission="always")) as client:
        responses = await asyncio.gather(*(client.get("/sql/slow") for _ in range(50)))
        assert {r.status_code for r in responses} == {200}
        assert len({r.content for r in responses}) == 1
        assert executions(client) == 1
        stats = client.app.state.gateway.cache.stats  # type: ignore[attr-defined]
        assert stats.misses + stats.hits + stats.joins == 50
        assert stats.computations == 1


async def test_hit_is_served_without_the_database_and_says_so(backend: Backend, slow_queries: Path) -> None:
    async with running(make_settings(backend, slow_queries, cache_admission="always")) as client:
        first = await client.get("/sql/slow", params={"n": "2"})
        second = await client.get("/sql/slow", params={"n": "2"})
        assert first.headers["x-cache"] == "MISS"
        assert second.headers["x-cache"] == "HIT"
        assert second.content == first.content
        assert executions(client) == 1
        assert second.headers["cache-control"] in ("private, max-age=60", "private, max-age=59")
        assert int(second.headers["age"]) <= 1


async def test_different_params_never_share_an_entry(backend: Backend, slow_queries: Path) -> None:
    async with running(make_settings(backend, slow_queries, cache_admission="always")) as client:
        one = (await client.get("/sql/slow", params={"n": "1"})).json()
        two = (await client.get("/sql/slow", params={"n": "2"})).json()
        assert one[0]["n"] == 1
        assert two[0]["n"] == 2
        assert executions(client) == 2


async def test_equivalent_requests_share_one_entry(backend: Backend) -> None:
    """Defaults resolved, multi-select order, the API key and unknown keys do not split entries."""
    settings = make_settings(backend, api_keys=("k1", "k2"), cache_admission="always")
    async with running(settings) as client:
        urls = [
            "/sql/compare_returns?api_key=k1",
            "/sql/compare_returns?tickers=NVDA,MSFT,AAPL&api_key=k2",
            "/sql/compare_returns?tickers=MSFT&tickers=AAPL,NVDA&theme=dark&api_key=k1",
        ]
        bodies = [(await client.get(url)).content for url in urls]
        assert len(set(bodies)) == 1
        assert executions(client, "compare_returns") == 1


async def test_errors_are_not_cached_and_every_waiter_gets_them(backend: Backend, slow_queries: Path) -> None:
    async with running(make_settings(backend, slow_queries, cache_admission="always")) as client:
        burst = await asyncio.gather(*(client.get("/sql/broken") for _ in range(10)))
        assert {r.status_code for r in burst} == {500}
        assert {r.json()["code"] for r in burst} == {"query_failed"}
        again = await client.get("/sql/broken")
        assert again.status_code == 500
        assert executions(client, "broken") >= 2  # the failure was retried, not replayed


async def test_entry_expires_after_stale_time(backend: Backend, slow_queries: Path) -> None:
    clock = FakeClock()
    cache = ResponseCache(MemoryStore(1 << 20), clock=clock, refresh_ahead=False, admission="always")
    async with running(make_settings(backend, slow_queries, cache_admission="always"), cache=cache) as client:
        await client.get("/sql/slow")
        clock.now += 59.0
        assert (await client.get("/sql/slow")).headers["x-cache"] == "HIT"
        assert (await client.get("/sql/slow")).headers["cache-control"] == "private, max-age=1"
        clock.now += 1.5
        expired = await client.get("/sql/slow")
        assert expired.headers["x-cache"] == "MISS"
        assert executions(client) == 2


async def test_refresh_ahead_renews_a_popular_entry_before_expiry(
    backend: Backend, slow_queries: Path
) -> None:
    clock = FakeClock()
    cache = ResponseCache(MemoryStore(1 << 20), clock=clock, refresh_ahead=True, admission="always")
    async with running(make_settings(backend, slow_queries, cache_admission="always"), cache=cache) as client:
        await client.get("/sql/slow")
        clock.now += 50.0  # past 75 % of the 60 s staleTime
        near_expiry = await client.get("/sql/slow")
        assert near_expiry.headers["x-cache"] == "HIT"  # served at once, refreshed behind
        for _ in range(100):
            if cache.stats.computations == 2 and not cache._flights:
                break
            await asyncio.sleep(0.05)
        assert executions(client) == 2
        clock.now += 20.0  # beyond the first entry's life, within the refreshed one's
        assert (await client.get("/sql/slow")).headers["x-cache"] == "HIT"
        assert executions(client) == 2


async def test_etag_answers_304_without_a_body(backend: Backend, slow_queries: Path) -> None:
    async with running(make_settings(backend, slow_queries, cache_admission="always")) as client:
        first = await client.get("/sql/slow")
        etag = first.headers["etag"]
        again = await client.get("/sql/slow", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        other = await client.get("/sql/slow", headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200


async def test_force_refresh_bypasses_the_cache(backend: Backend, slow_queries: Path) -> None:
    async with running(make_settings(backend, slow_queries, cache_admission="always")) as client:
        await client.get("/sql/slow")
        by_flag = await client.get("/sql/slow", params={"_refresh": "1"})
        by_header = await client.get("/sql/slow", headers={"Cache-Control": "no-cache"})
        assert by_flag.headers["x-cache"] == "REFRESH"
        assert by_header.headers["x-cache"] == "REFRESH"
        assert executions(client) == 3
        assert (await client.get("/sql/slow")).headers["x-cache"] == "HIT"


async def test_cache_false_always_reads_the_database(backend: Backend, slow_queries: Path) -> None:
    async with running(make_settings(backend, slow_queries, cache_admission="always")) as client:
        for _ in range(3):
            response = await client.get("/sql/nocache")
            assert response.headers["x-cache"] == "BYPASS"
            assert response.headers["cache-control"] == "no-store"
        assert executions(client, "nocache") == 3


async def test_options_endpoints_are_cached_too(backend: Backend) -> None:
    async with running(make_settings(backend, cache_admission="always")) as client:
        first = await client.get("/options/ticker_options", params={"sector": "Energy"})
        second = await client.get("/options/ticker_options", params={"sector": "Energy"})
        assert second.headers["x-cache"] == "HIT"
        assert first.content == second.content
        assert executions(client, "ticker_options") == 1


async def test_memory_store_respects_its_byte_budget() -> None:
    store = MemoryStore(max_bytes=10_000)
    for i in range(100):
        await store.set(f"k{i}", make_entry(b"x" * 1_000, 0.0, 60.0))
    assert store.bytes <= 10_000
    assert len(store) < 10
    assert await store.get("k99") is not None  # the newest survive
    assert await store.get("k0") is None  # the oldest were evicted
    await store.set("huge", make_entry(b"x" * 20_000, 0.0, 60.0))
    assert await store.get("huge") is None  # larger than the budget: never stored


async def test_redis_cache_is_shared_by_two_replicas(backend: Backend, slow_queries: Path) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    settings = make_settings(backend, slow_queries, cache_url=REDIS_URL, cache_admission="always")
    store_a, store_b = RedisStore(REDIS_URL), RedisStore(REDIS_URL)
    await store_a.delete_prefix("")
    cache_a = ResponseCache(store_a, admission="always")
    cache_b = ResponseCache(store_b, admission="always")
    async with running(settings, cache=cache_a) as a, running(settings, cache=cache_b) as b:
        burst = await asyncio.gather(
            *(a.get("/sql/slow", params={"n": "7"}) for _ in range(10)),
            *(b.get("/sql/slow", params={"n": "7"}) for _ in range(10)),
        )
        assert {r.status_code for r in burst} == {200}
        assert len({r.content for r in burst}) == 1
        assert executions(a) + executions(b) == 1
        later = await b.get("/sql/slow", params={"n": "7"})
        assert later.headers["x-cache"] == "HIT"


async def test_redis_outage_falls_back_to_the_database(backend: Backend, slow_queries: Path) -> None:
    settings = make_settings(backend, slow_queries, cache_admission="always")
    dead = ResponseCache(RedisStore("redis://127.0.0.1:1/0", timeout_s=0.2))
    async with running(settings, cache=dead) as client:
        first = await client.get("/sql/slow")
        second = await client.get("/sql/slow")
        assert first.status_code == 200
        assert second.status_code == 200
        assert executions(client) == 2  # no shared cache, but every request answered


async def test_repeat_admission_stores_a_body_the_second_time_its_key_is_asked(
    backend: Backend, slow_queries: Path
) -> None:
    """One-off parameter combinations never fill the cache; anything asked for twice is kept."""
    async with running(make_settings(backend, slow_queries)) as client:  # default: repeat
        statuses = [(await client.get("/sql/slow", params={"n": "3"})).headers["x-cache"] for _ in range(3)]
        assert statuses == ["MISS", "MISS", "HIT"]
        assert executions(client) == 2
        one_off = await client.get("/sql/slow", params={"n": "4"})
        assert one_off.headers["x-cache"] == "MISS"
        stats = client.app.state.gateway.cache.stats  # type: ignore[attr-defined]
        assert stats.not_admitted == 2  # n=3 the first time, n=4


async def test_repeat_admission_stores_at_once_when_requests_waited_for_it(
    backend: Backend, slow_queries: Path
) -> None:
    async with running(make_settings(backend, slow_queries)) as client:
        await asyncio.gather(*(client.get("/sql/slow", params={"n": "5"}) for _ in range(10)))
        assert executions(client) == 1
        assert (await client.get("/sql/slow", params={"n": "5"})).headers["x-cache"] == "HIT"
