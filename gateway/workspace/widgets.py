"""Catalog -> ``widgets.json``: only OpenBB keys, exact enums, one entry per widget file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from gateway.catalog.models import GATEWAY_KEYS, GATEWAY_PARAM_KEYS
from gateway.catalog.spec import Catalog, ParamSpec, QuerySpec
from gateway.sources.base import Column

DEFAULT_GRID = {"w": 20, "h": 12}
# OpenBB fields copied from front-matter as written (already validated by the catalog).
_PASS_THROUGH = (
    "subCategory", "imgUrl", "gridData", "data", "source", "refetchInterval", "staleTime",
    "dataUpdateDisplay", "runButton", "raw", "exportable",
)  # fmt: skip


def data_endpoint(query_id: str) -> str:
    return f"sql/{query_id}"


def options_endpoint(query_id: str) -> str:
    return f"options/{query_id}"


def build_widgets(
    catalog: Catalog, columns: Mapping[str, list[Column]] | None = None
) -> dict[str, dict[str, Any]]:
    """The ``/widgets.json`` object, keyed by widget id.

    With the result ``columns`` of each query (known once it was compiled on its database),
    table widgets get a definition for every column, merged under the file's own.
    """
    columns = columns or {}
    return {
        spec.id: widget_entry(spec, columns.get(spec.id, []))
        for spec in sorted(catalog.widgets(), key=lambda s: s.id)
    }


def widget_entry(spec: QuerySpec, columns: list[Column] | None = None) -> dict[str, Any]:
    meta = msgspec.to_builtins(spec.meta)
    entry: dict[str, Any] = {
        "widgetId": spec.id,
        "name": spec.name,
        "description": spec.description,
        "category": spec.category,
        "type": spec.widget_type,
        "endpoint": data_endpoint(spec.id),
        "gridData": DEFAULT_GRID,
        "source": [spec.database],
    }
    entry.update({key: meta[key] for key in _PASS_THROUGH if key in meta})
    if spec.widget_type == "table" and columns:
        table = entry.setdefault("data", {}).setdefault("table", {})
        table["columnsDefs"] = merged_column_defs(columns, table.get("columnsDefs", []))
    if spec.widget_type == "chart" and spec.meta.raw is not msgspec.UNSET:
        entry["raw"] = spec.meta.raw
    params = [[param_entry(spec.param(name)) for name in row] for row in spec.param_rows]  # type: ignore[arg-type]
    params = [row for row in params if row]
    if len(params) == 1:
        entry["params"] = params[0]
    elif params:
        entry["params"] = params
    assert not GATEWAY_KEYS & entry.keys()
    return entry


def param_entry(param: ParamSpec) -> dict[str, Any]:
    entry = {k: v for k, v in msgspec.to_builtins(param.model).items() if k not in GATEWAY_PARAM_KEYS}
    entry.setdefault("type", param.type)
    entry.setdefault("label", param.name.replace("_", " ").title())
    if param.options_query is not None:
        entry["optionsEndpoint"] = options_endpoint(param.options_query)
    if param.multi and isinstance(param.default, list):
        entry["value"] = ",".join(param.default)  # Workspace's multi-select default is "a,b"
    return entry


# Column kind -> the definition Workspace needs to sort, format and chart it (protocol §5.5).
_INFERRED: dict[str, dict[str, Any]] = {
    "integer": {"cellDataType": "number", "chartDataType": "series", "formatterFn": "int"},
    "number": {
        "cellDataType": "number",
        "chartDataType": "series",
        "formatterFn": "none",
        "decimalPlaces": 2,
    },
    "boolean": {"cellDataType": "boolean", "chartDataType": "excluded"},
    "date": {"cellDataType": "dateString", "chartDataType": "time"},
    "datetime": {"cellDataType": "dateString", "chartDataType": "time"},
    "json": {"cellDataType": "object", "chartDataType": "excluded"},
    "array": {"cellDataType": "object", "chartDataType": "excluded"},
    "text": {"cellDataType": "text", "chartDataType": "category"},
}
_CATEGORY_NAMES = ("id", "year", "quarter", "fiscal_year", "fiscal_quarter")


def inferred_column_def(column: Column, first: bool) -> dict[str, Any]:
    definition: dict[str, Any] = {"field": column.name, "headerName": column.name.replace("_", " ").title()}
    definition.update(_INFERRED.get(column.kind, _INFERRED["text"]))
    lowered = column.name.lower()
    if column.kind == "integer" and (lowered in _CATEGORY_NAMES or lowered.endswith("_id")):
        definition["chartDataType"] = "category"  # ids and years label, they are not measured
        definition["formatterFn"] = "none"
    if first:
        definition["pinned"] = "left"
    return definition


def merged_column_defs(columns: list[Column], declared: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One definition per result column, in result order; the file's keys win, field by field.

    Declared fields the result lacks are kept at the end (``gateway check`` reports them).
    """
    by_field = {d["field"]: d for d in declared}
    merged = [{**inferred_column_def(c, i == 0), **by_field.get(c.name, {})} for i, c in enumerate(columns)]
    names = {c.name for c in columns}
    merged += [d for d in declared if d["field"] not in names]
    return merged
