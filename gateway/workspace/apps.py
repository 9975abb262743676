"""Catalog -> ``apps.json``: one generated dashboard per category.

Widgets are placed left to right on the 40-column grid in id order, wrapping to a new row when
the next one does not fit. Params that several widgets of an app share (same ``paramName`` and,
for dropdowns, the same options query) become linked groups, so choosing a ticker in one widget
updates the others.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gateway.catalog.apps import auto_place
from gateway.catalog.models import GridData
from gateway.catalog.spec import Catalog, ParamSpec, QuerySpec
from gateway.workspace.widgets import DEFAULT_GRID


def build_apps(catalog: Catalog) -> list[dict[str, Any]]:
    """The apps declared in ``apps/*.yaml``, then one generated app per category for the widgets
    no declared app shows, so every widget is reachable from some app."""
    covered = {wid for app in catalog.apps for wid in app.widget_ids}
    by_category: dict[str, list[QuerySpec]] = defaultdict(list)
    for spec in catalog.widgets():
        if spec.id not in covered:
            by_category[spec.category].append(spec)
    generated = [
        category_app(name, sorted(specs, key=lambda s: s.id)) for name, specs in sorted(by_category.items())
    ]
    return [app.document for app in catalog.apps] + generated


def category_app(category: str, specs: list[QuerySpec]) -> dict[str, Any]:
    layout = auto_layout(specs)
    groups = shared_param_groups(specs)
    for group in groups:
        for item in layout:
            if item["i"] in group["widgetIds"]:
                item.setdefault("groups", []).append(group["name"])
    names = ", ".join(s.name for s in specs[:4]) + (", ..." if len(specs) > 4 else "")
    return {
        "name": category,
        "description": f"{category}: {names}.",
        "allowCustomization": True,
        "tabs": {"overview": {"id": "overview", "name": "Overview", "layout": layout}},
        "groups": groups,
        "prompts": [],
    }


def auto_layout(specs: list[QuerySpec]) -> list[dict[str, Any]]:
    """Each widget at its own ``gridData`` size (default 20x12), left to right, wrapping rows."""
    items = []
    for spec in specs:
        grid = spec.meta.gridData
        w, h = (grid.w, grid.h) if isinstance(grid, GridData) else (DEFAULT_GRID["w"], DEFAULT_GRID["h"])
        items.append({"i": spec.id, "w": w, "h": h})
    return auto_place(items)


def _link_key(param: ParamSpec) -> tuple[str, str | None] | None:
    if param.type == "endpoint":
        return (param.name, param.options_query)
    if param.type == "ticker" or param.choices is not None:
        return (param.name, None)
    return None


def shared_param_groups(specs: list[QuerySpec]) -> list[dict[str, Any]]:
    members: dict[tuple[str, str | None], list[tuple[QuerySpec, ParamSpec]]] = defaultdict(list)
    for spec in specs:
        for param in spec.params:
            key = _link_key(param)
            if key is not None and not param.multi:
                members[key].append((spec, param))
    groups: list[dict[str, Any]] = []
    for (name, _), pairs in sorted(members.items(), key=lambda kv: kv[0][0]):
        if len(pairs) < 2:
            continue
        first = pairs[0][1]
        group: dict[str, Any] = {
            "name": f"Group {len(groups) + 1}",
            "type": "endpointParam" if first.type == "endpoint" else "param",
            "paramName": name,
            "widgetIds": [spec.id for spec, _ in pairs],
        }
        if first.default not in (None, ""):
            group["defaultValue"] = first.default
        groups.append(group)
    return groups
