"""Catalog -> ``widgets.json``: only OpenBB keys, exact enums, one entry per widget file."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.catalog.models import GATEWAY_KEYS, GATEWAY_PARAM_KEYS
from gateway.catalog.spec import Catalog, ParamSpec, QuerySpec

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


def build_widgets(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """The ``/widgets.json`` object, keyed by widget id."""
    return {spec.id: widget_entry(spec) for spec in sorted(catalog.widgets(), key=lambda s: s.id)}


def widget_entry(spec: QuerySpec) -> dict[str, Any]:
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
