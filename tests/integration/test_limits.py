"""Every query runs within its limits: at most ``max_rows`` rows, flagged with
``X-Gateway-Truncated`` exactly when rows were dropped; over its time budget a 504 that frees the
connection for the next request; a file may lower a limit but never raise it; PostgreSQL runs each
query in a read-only transaction; a request body over ``max_body_bytes`` is a 413."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import Backend, make_settings, running

pytestmark = pytest.mark.asyncio


def counter(name: str = "Counter", extra: str = "", aggregate: bool = False) -> str:
    """A recursive CTE counting 1..:count (both dialects); ``aggregate`` returns only its size."""
    select = "SELECT COUNT(*) AS c FROM s" if aggregate else "SELECT n FROM s"
    return f"""/*
---
name: {name}
{extra}
params:
  - paramName: count
    type: number
    value: 10
---
*/
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count)
{select}
"""


TRIVIAL = """/*
---
name: Trivial
---
*/
SELECT 1 AS one
"""

PG_SLEEP = """/*
---
name: Sleep
---
*/
SELECT pg_sleep(5) IS NULL AS slept
"""

READ_ONLY = """/*
---
name: Read only
---
*/
SELECT current_setting('transaction_read_only') AS read_only
"""

HEAVY = 1_000_000_000  # counting to 10^9 takes minutes on either database


def assert_timeout(response: httpx.Response) -> None:
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["code"] == "query_timeout"
    assert body["detail"] == body["error"]
    assert body["request_id"] == response.headers["x-request-id"]
    for leak in ("pg_sleep", "RECURSIVE", "SELECT", "canceling", "interrupted"):
        assert leak not in response.text


async def timed_get(
    client: httpx.AsyncClient, path: str, params: dict[str, str] | None = None
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.get(path, params=params)
    return response, time.perf_counter() - started


# --- row cap ---------------------------------------------------------------------------------------


async def test_only_results_over_max_rows_are_cut_and_flagged(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"counter.sql": counter()})
    async with running(make_settings(backend, queries_dir=queries, max_rows=50)) as client:
        below = await client.get("/sql/counter", params={"count": "49"})
        assert below.status_code == 200 and len(below.json()) == 49
        assert "x-gateway-truncated" not in below.headers

        exact = await client.get("/sql/counter", params={"count": "50"})
        assert exact.status_code == 200
        assert exact.json() == [{"n": n} for n in range(1, 51)]
        assert exact.headers["x-gateway-rows"] == "50"
        assert "x-gateway-truncated" not in exact.headers

        over = await client.get("/sql/counter", params={"count": "51"})
        assert over.status_code == 200
        assert over.json() == [{"n": n} for n in range(1, 51)]
        assert over.headers["x-gateway-rows"] == "50"
        assert over.headers["x-gateway-truncated"] == "true"

        # A second (possibly cached) answer keeps the flag.
        again = await client.get("/sql/counter", params={"count": "51"})
        assert again.headers["x-gateway-truncated"] == "true" and len(again.json()) == 50


async def test_a_file_may_lower_max_rows_but_not_raise_it(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries(
        {
            "lower.sql": counter("Lower", "maxRows: 5"),
            "higher.sql": counter("Higher", "maxRows: 500"),
        }
    )
    async with running(make_settings(backend, queries_dir=queries, max_rows=50)) as client:
        five = await client.get("/sql/lower", params={"count": "5"})
        assert len(five.json()) == 5 and "x-gateway-truncated" not in five.headers
        lowered = await client.get("/sql/lower", params={"count": "10"})
        assert lowered.json() == [{"n": n} for n in range(1, 6)]
        assert lowered.headers["x-gateway-truncated"] == "true"

        clamped = await client.get("/sql/higher", params={"count": "100"})
        assert len(clamped.json()) == 50
        assert clamped.headers["x-gateway-truncated"] == "true"


async def test_a_source_may_lower_max_rows_too(backend: Backend, write_queries: Callable[..., Path]) -> None:
    queries = write_queries({"counter.sql": counter()})
    settings = make_settings(
        backend,
        queries_dir=queries,
        max_rows=50,
        databases={"default": backend.database(max_rows=7)},
    )
    async with running(settings) as client:
        response = await client.get("/sql/counter", params={"count": "20"})
        assert len(response.json()) == 7 and response.headers["x-gateway-truncated"] == "true"


async def test_a_ten_million_row_generator_is_cut_at_the_cap_promptly(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"counter.sql": counter()})
    async with running(make_settings(backend, queries_dir=queries, max_rows=1000)) as client:
        response, elapsed = await timed_get(client, "/sql/counter", params={"count": "10000000"})
        assert response.status_code == 200, response.text
        rows = response.json()
        assert len(rows) == 1000 and rows[-1] == {"n": 1000}
        assert response.headers["x-gateway-truncated"] == "true"
        assert elapsed < 10, elapsed


# --- time limits -----------------------------------------------------------------------------------


async def test_pg_sleep_over_the_statement_timeout_is_504_and_the_next_request_succeeds(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"sleep.sql": PG_SLEEP, "trivial.sql": TRIVIAL})
    settings = make_settings(
        pg_backend,
        queries_dir=queries,
        statement_timeout_ms=300,
        databases={"default": pg_backend.database(pool_size=1)},
    )
    async with running(settings) as client:
        response, elapsed = await timed_get(client, "/sql/sleep")
        assert_timeout(response)
        assert elapsed < 4, elapsed
        # The one pooled connection came back usable.
        follow_up = await client.get("/sql/trivial")
        assert follow_up.status_code == 200 and follow_up.json() == [{"one": 1}]
        # Timeouts are not cached: the same widget is tried (and times out) again.
        again, _ = await timed_get(client, "/sql/sleep")
        assert_timeout(again)
        assert (await client.get("/sql/trivial")).status_code == 200


async def test_a_heavy_query_over_the_statement_timeout_is_504_and_frees_the_connection(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"heavy.sql": counter("Heavy", aggregate=True), "trivial.sql": TRIVIAL})
    settings = make_settings(
        backend,
        queries_dir=queries,
        statement_timeout_ms=300,
        databases={"default": backend.database(pool_size=1)},
    )
    async with running(settings) as client:
        small = await client.get("/sql/heavy", params={"count": "1000"})
        assert small.json() == [{"c": 1000}]
        response, elapsed = await timed_get(client, "/sql/heavy", params={"count": str(HEAVY)})
        assert_timeout(response)
        assert elapsed < 5, elapsed
        # With a single connection, this only answers if the heavy statement really stopped.
        follow_up, follow_elapsed = await timed_get(client, "/sql/trivial")
        assert follow_up.status_code == 200 and follow_up.json() == [{"one": 1}]
        assert follow_elapsed < 2, follow_elapsed


async def test_a_file_may_lower_the_timeout(backend: Backend, write_queries: Callable[..., Path]) -> None:
    queries = write_queries(
        {"heavy.sql": counter("Heavy", "timeoutMs: 300", aggregate=True), "trivial.sql": TRIVIAL}
    )
    settings = make_settings(
        backend,
        queries_dir=queries,
        statement_timeout_ms=60_000,
        databases={"default": backend.database(pool_size=1)},
    )
    async with running(settings) as client:
        response, elapsed = await timed_get(client, "/sql/heavy", params={"count": str(HEAVY)})
        assert_timeout(response)
        assert elapsed < 10, elapsed
        assert (await client.get("/sql/trivial")).status_code == 200
        assert (await client.get("/sql/heavy", params={"count": "100"})).json() == [{"c": 100}]


async def test_a_file_cannot_raise_the_timeout(backend: Backend, write_queries: Callable[..., Path]) -> None:
    queries = write_queries(
        {"heavy.sql": counter("Heavy", "timeoutMs: 600000", aggregate=True), "trivial.sql": TRIVIAL}
    )
    settings = make_settings(
        backend,
        queries_dir=queries,
        statement_timeout_ms=300,
        databases={"default": backend.database(pool_size=1)},
    )
    async with running(settings) as client:
        response, elapsed = await timed_get(client, "/sql/heavy", params={"count": str(HEAVY)})
        assert_timeout(response)
        assert elapsed < 10, elapsed
        assert (await client.get("/sql/trivial")).status_code == 200


# --- read-only transactions and request size -------------------------------------------------------


async def test_pg_widgets_run_in_a_read_only_transaction(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"read_only.sql": READ_ONLY})
    async with running(make_settings(pg_backend, queries_dir=queries)) as client:
        response = await client.get("/sql/read_only")
        assert response.status_code == 200
        assert response.json() == [{"read_only": "on"}]


async def test_a_request_body_over_max_body_bytes_is_413(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with running(make_settings(backend, queries_dir=queries, max_body_bytes=1024)) as client:
        for path in ("/sql/trivial", "/widgets.json", "/sql/no_such_widget"):
            response = await client.post(path, content=b"x" * 2048)
            assert response.status_code == 413, (path, response.text)
            body = response.json()
            assert body["code"] == "payload_too_large"
            assert body["detail"] == body["error"]
        small = await client.post("/sql/trivial", content=b"x" * 1024)
        assert small.status_code != 413
        assert small.status_code < 500
        assert (await client.get("/sql/trivial")).status_code == 200
