"""Observability: ``GET /metrics`` (behind an unrestricted API key, unlike ``/health``) reports,
in Prometheus text format, the requests by route and status, a latency histogram per widget, failed
data requests by error code, cache hits/misses/single-flight joins, statements run per query and
each source's connections in use and waiting requests, as they really happened. With
``log_format = json`` every line ``gateway serve`` writes is one JSON object, and the access lines
carry request id, redacted path, status, duration, widget, params hash, cache status and rows, but
never the API key.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway import __version__
from gateway.settings import ScopedKey
from tests.conftest import DEMO_QUERIES, Backend, make_settings, running
from tests.integration.test_cli import free_port, serving
from tests.integration.test_reload import eventually

KEY = "metrics-test-key"
AUTH = {"X-API-Key": KEY}
SLOW = {
    "postgres": "SELECT pg_sleep(0.5)::text AS slept",
    "sqlite": (
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2500000) "
        "SELECT COUNT(*) AS slept FROM s"
    ),
}
FAST = (
    "/*\n---\nname: Fast\nparams:\n  - paramName: n\n    type: number\n    value: 1\n---\n*/\n"
    "SELECT CAST(:n AS integer) AS n\n"
)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """``{(sample name, sorted labels): value}`` of a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


@pytest.fixture
def folder(backend: Backend, write_queries: Callable[..., Path]) -> Path:
    slow = f"/*\n---\nname: Slow\nstaleTime: 60000\n---\n*/\n{SLOW[backend.name]}\n"
    return write_queries({"fast.sql": FAST, "slow.sql": slow})


async def test_metrics_need_the_api_key_and_health_does_not(backend: Backend, folder: Path) -> None:
    async with running(make_settings(backend, folder, api_keys=(KEY,))) as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", params={"api_key": "wrong"})).status_code == 401
        assert (await client.get("/health")).status_code == 200
        await scrape(client)


async def test_metrics_are_refused_to_a_key_limited_to_some_widgets(backend: Backend, folder: Path) -> None:
    scoped = ScopedKey(name="research", key="scoped-key", allow=("fast",))
    async with running(make_settings(backend, folder, api_keys=(KEY,), keys=(scoped,))) as client:
        refused = await client.get("/metrics", headers={"X-API-Key": "scoped-key"})
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        assert "slow" not in refused.text  # its labels would name widgets outside the scope
        await scrape(client)


async def test_metrics_count_requests_latency_errors_cache_and_executions(
    backend: Backend, folder: Path
) -> None:
    async with running(make_settings(backend, folder, api_keys=(KEY,), cache_admission="always")) as client:
        for _ in range(2):
            assert (await client.get("/sql/fast", headers=AUTH)).status_code == 200
        assert (await client.get("/sql/fast?n=ten", headers=AUTH)).status_code == 422
        assert (await client.get("/sql/nope", headers=AUTH)).status_code == 404
        assert (await client.get("/widgets.json", headers=AUTH)).status_code == 200
        assert (await client.get("/openapi.json", headers=AUTH)).status_code == 200

        metrics = await scrape(client)

    def value(name: str, **labels: str) -> float:
        return metrics.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("gateway_http_requests_total", route="/sql/{widget}", status="200") == 2
    assert value("gateway_http_requests_total", route="/sql/{widget}", status="422") == 1
    assert value("gateway_http_requests_total", route="/sql/{widget}", status="404") == 1
    assert value("gateway_http_requests_total", route="/widgets.json", status="200") == 1
    assert value("gateway_http_requests_total", route="/openapi.json", status="200") == 1
    assert value("gateway_widget_request_duration_seconds_count", widget="fast") == 3
    assert value("gateway_widget_request_duration_seconds_bucket", widget="fast", le="+Inf") == 3
    assert value("gateway_query_errors_total", code="invalid_parameter") == 1
    assert value("gateway_query_errors_total", code="unknown_widget") == 1
    assert (value("gateway_cache_misses_total"), value("gateway_cache_hits_total")) == (1, 1)
    assert value("gateway_query_executions_total", query="fast") == 1
    assert value("gateway_db_pool_size", source="default") == 5
    assert value("gateway_db_connections_in_use", source="default") == 0
    assert value("gateway_queries") == 2
    assert value("gateway_build_info", version=__version__) == 1


async def test_concurrent_identical_misses_show_as_single_flight_joins(
    backend: Backend, folder: Path
) -> None:
    async with running(make_settings(backend, folder, api_keys=(KEY,))) as client:
        responses = await asyncio.gather(*(client.get("/sql/slow", headers=AUTH) for _ in range(20)))
        assert {r.status_code for r in responses} == {200}
        metrics = await scrape(client)

    assert metrics["gateway_query_executions_total", (("query", "slow"),)] == 1
    assert metrics["gateway_cache_misses_total", ()] == 1
    joined = metrics["gateway_cache_joins_total", ()] + metrics["gateway_cache_hits_total", ()]
    assert joined == 19
    assert metrics["gateway_cache_joins_total", ()] >= 1


async def test_connections_in_use_follow_a_running_query(backend: Backend, folder: Path) -> None:
    async with running(make_settings(backend, folder, api_keys=(KEY,), cache_url="off")) as client:
        running_query = [asyncio.create_task(client.get("/sql/slow", headers=AUTH))]

        async def in_use(count: int) -> bool:
            return (await scrape(client))["gateway_db_connections_in_use", (("source", "default"),)] == count

        async def busy() -> bool:
            if running_query[-1].done():  # finished between two scrapes: run another one
                running_query.append(asyncio.create_task(client.get("/sql/slow", headers=AUTH)))
            return await in_use(1)

        await eventually(busy, "one connection in use during the slow query")
        assert {(await task).status_code for task in running_query} == {200}
        await eventually(lambda: in_use(0), "the connection back in the pool")


def test_json_logs_carry_request_fields_and_never_the_api_key(
    tmp_path: Path, sqlite_backend: Backend
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args: list[object] = [
        "--port", port, "--api-key", KEY, "--log-format", "json",
        "--database", f"sqlite:///{sqlite_backend.extra['path']}", "--queries", DEMO_QUERIES,
    ]  # fmt: skip
    with (
        serving(args, tmp_path, ready_url=f"{base}/health"),
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        by_query = client.get("/sql/daily_prices", params={"ticker": "MSFT", "api_key": KEY})
        assert by_query.status_code == 200
        assert client.get("/sql/daily_prices?ticker=MSFT", headers=AUTH).headers["x-cache"] == "MISS"
        assert client.get("/sql/daily_prices?start=x", headers=AUTH).status_code == 422
        request_id = by_query.headers["x-request-id"]
        log_path = tmp_path / "serve.log"
        deadline = time.monotonic() + 10  # the last access line is written just after the response
        while log_path.read_text().count('"gateway.access"') < 3 and time.monotonic() < deadline:
            time.sleep(0.05)

    text = log_path.read_text()
    assert KEY not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    access = {entry["request_id"]: entry for entry in lines if entry["logger"] == "gateway.access"}
    entry = access[request_id]
    assert entry["path"] == "/sql/daily_prices?ticker=MSFT&api_key=***"
    assert (entry["method"], entry["status"], entry["widget"], entry["cache"]) == (
        "GET",
        200,
        "daily_prices",
        "MISS",
    )
    assert entry["rows"] > 0 and entry["duration_ms"] >= 0 and len(entry["params_hash"]) == 12
    assert {"ts", "level", "msg"} <= set(entry)
    failed = next(e for e in access.values() if e["status"] == 422)
    assert (failed["widget"], failed["error"]) == ("daily_prices", "invalid_parameter")
