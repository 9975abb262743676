"""Result -> the response body of each widget type, and of options endpoints."""

from __future__ import annotations

from typing import Any

from gateway.catalog.spec import QuerySpec
from gateway.errors import QueryFailed
from gateway.sources import Result
from gateway.workspace.encode import encode_json, encode_rows, records

_EXTRA_INFO = ("description", "rightOfDescription")


def shape_widget(spec: QuerySpec, result: Result, query: dict[str, list[str]]) -> bytes:
    """The body for ``GET /sql/<id>``: a JSON array of row objects for tables."""
    return encode_rows(result.columns, result.rows)


def shape_options(spec: QuerySpec, result: Result) -> bytes:
    """``[{label, value, extraInfo?}]`` from a query returning ``value`` (and ``label``...)."""
    if result.rows and "value" not in result.columns:
        raise QueryFailed(f"options query {spec.id} must return a 'value' column")
    options: list[dict[str, Any]] = []
    for row in records(result.columns, result.rows):
        value = row["value"]
        label = row.get("label")
        option: dict[str, Any] = {"label": str(value if label is None else label), "value": value}
        extra = {k: str(row[k]) for k in _EXTRA_INFO if row.get(k) is not None}
        if extra:
            option["extraInfo"] = extra
        options.append(option)
    return encode_json(options)
