"""The data routes (/sql, /options) answered directly by the edge layer behave as Litestar routes
would: HEAD, 405 for other methods, and a bug becomes a logged 500 in the canonical shape."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Backend, make_settings, running
from tests.faults import assert_error

TRIVIAL = "/*\n---\nname: Trivial\n---\n*/\nSELECT 1 AS one, 'x' AS two\n"
OPTIONS = "/*\n---\nname: Choices\n---\n*/\nSELECT 'a' AS label, 'a' AS value\n"


async def test_head_gives_the_headers_of_get_without_a_body(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        got = await client.get("/sql/trivial")
        head = await client.head("/sql/trivial")
    assert got.json() == [{"one": 1, "two": "x"}]
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == "application/json"


@pytest.mark.parametrize("path", ["/sql/trivial", "/options/choices"])
async def test_other_methods_are_405_in_the_canonical_shape(
    sqlite_backend: Backend, write_queries: Callable[..., Path], path: str
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL, "choices.sql": OPTIONS})
    async with running(make_settings(sqlite_backend, queries_dir=queries)) as client:
        for method in ("POST", "PUT", "DELETE"):
            response = await client.request(method, path)
            assert_error(response, 405, "method_not_allowed")
        assert (await client.get(path)).status_code == 200


@pytest.mark.parametrize("path", ["/sql/", "/sql/nope", "/options/nope", "/sql/trivial/extra"])
async def test_unknown_ids_under_the_data_routes_are_404(
    sqlite_backend: Backend, write_queries: Callable[..., Path], path: str
) -> None:
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with running(make_settings(sqlite_backend, queries_dir=queries)) as client:
        assert_error(await client.get(path), 404, "unknown_widget")


async def test_a_bug_in_a_data_route_is_a_logged_500_without_details(
    sqlite_backend: Backend,
    write_queries: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway")
    queries = write_queries({"trivial.sql": TRIVIAL})
    async with running(make_settings(sqlite_backend, queries_dir=queries)) as client:
        executor = client.app.state.gateway.executor  # type: ignore[attr-defined]

        async def broken(*_: Any) -> Any:
            raise RuntimeError("secret detail of a bug")

        monkeypatch.setattr(executor, "stream", broken)  # stands in for a bug: nothing else can
        response = await client.get("/sql/trivial")
        body = assert_error(response, 500, "internal_error", secrets=("secret detail", "Traceback"))
        metrics = (await client.get("/metrics")).text
    assert body["detail"] == "internal error"
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert logged and "secret detail of a bug" in caplog.text
    assert body["request_id"] in logged[0].getMessage()
    access = [r.getMessage() for r in caplog.records if r.name == "gateway.access"]
    assert any("/sql/trivial 500" in line and "error=internal_error" in line for line in access), access
    assert 'gateway_query_errors_total{code="internal_error"} 1.0' in metrics
