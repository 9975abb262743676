"""``/openapi.json`` documents every route, the widget data routes with their typed params included,
and no input schemathesis can generate from it (valid or not) makes the gateway answer 5xx while
the database is healthy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from gateway.catalog import load_catalog
from gateway.workspace.openapi import DocumentInfo, build_openapi
from tests.conftest import DEMO_QUERIES, Backend, make_settings
from tests.faults import (
    leak_guard,  # noqa: F401  (autouse: no connection outlives a module)
    threaded_server,
)

KEY = "fuzz-key"
TYPES = """/*
---
name: Types
params:
  - paramName: count
    type: number
    value: 1
  - paramName: day
    type: date
    value: $currentDate
  - paramName: flag
    type: boolean
    value: true
  - paramName: names
    type: text
    multiSelect: true
    required: false
  - paramName: side
    type: text
    value: buy
    options:
      - {value: buy}
      - {value: sell}
  - paramName: note
    type: text
---
*/
SELECT :count AS count, :day AS day, :flag AS flag, :side AS side, :note AS note
FROM tickers WHERE symbol IN (:names)
"""


def test_the_document_types_each_widget_param_as_the_params_layer_parses_it(
    write_queries: Callable[..., Path],
) -> None:
    catalog = load_catalog(write_queries({"types.sql": TYPES}), {"default": "sqlite"})
    info = DocumentInfo("gateway", "1", "X-API-Key", "api_key", max_param_length=100)
    document = build_openapi(catalog.widgets(), [], info)
    assert document["openapi"].startswith("3.1")
    assert {"/widgets.json", "/apps.json", "/templates.json", "/health", "/ready"} <= set(document["paths"])
    params = {p["name"]: p for p in document["paths"]["/sql/types"]["get"]["parameters"]}
    assert {n: p["in"] for n, p in params.items()} == dict.fromkeys(params, "query")
    assert params["count"]["schema"] == {"type": "number"}
    assert params["day"]["schema"] == {"type": "string", "format": "date"}
    assert params["flag"]["schema"] == {"type": "boolean"}
    assert params["names"]["schema"]["type"] == "string"
    assert params["side"]["schema"] == {"type": "string", "maxLength": 100, "enum": ["buy", "sell"]}
    assert params["note"]["required"] is True and params["count"]["required"] is False
    assert document["components"]["securitySchemes"]["ApiKeyHeader"]["name"] == "X-API-Key"
    assert document["paths"]["/health"]["get"]["security"] == []


def test_openapi_json_is_served_and_loads_as_a_valid_schema(sqlite_backend: Backend) -> None:
    settings_ = make_settings(sqlite_backend, api_keys=(KEY,))
    with threaded_server(settings_) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/openapi.json").status_code == 401
        document = client.get("/openapi.json", headers={"X-API-Key": KEY}).json()
        widgets = client.get("/widgets.json", headers={"X-API-Key": KEY}).json()
    assert {f"/sql/{w}" for w in widgets} <= set(document["paths"])
    assert any(p.startswith("/options/") for p in document["paths"])
    schema = schemathesis.openapi.from_dict(document)
    assert len([op.ok() for op in schema.get_all_operations()]) == len(document["paths"])


def test_no_generated_request_gets_a_server_error(backend: Backend) -> None:
    settings_ = make_settings(backend, api_keys=(KEY,), queries_dir=DEMO_QUERIES)
    with threaded_server(settings_) as base, httpx.Client(base_url=base, timeout=30) as client:
        document: dict[str, Any] = client.get("/openapi.json", headers={"X-API-Key": KEY}).json()
        schema = schemathesis.openapi.from_dict(document)
        schema.config.update(base_url=base)
        schema.config.generation.update(allow_x00=True, database="none")
        for result in schema.get_all_operations():
            operation = result.ok()
            strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
                GenerationMode.NEGATIVE
            )
            _fuzz(strategy, base)


def _fuzz(strategy: Any, base: str) -> None:
    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base, headers={"X-API-Key": KEY}, timeout=30)
        case.validate_response(response, checks=[not_a_server_error])

    run()
