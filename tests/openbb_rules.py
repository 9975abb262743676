"""OpenBB Workspace's rules for widgets.json and apps.json, re-implemented from the protocol
reference (§3-§10) independently of the gateway's own models, as reusable test helpers.

Each function returns a list of human-readable problems; an empty list means "Workspace would
load this".
"""

from __future__ import annotations

import re
from typing import Any

WIDGET_KEYS = {
    "name", "description", "endpoint", "type", "category", "subCategory", "imgUrl", "gridData",
    "params", "data", "source", "refetchInterval", "staleTime", "dataUpdateDisplay", "runButton",
    "raw", "exportable", "widgetId", "mcp_tool",
}  # fmt: skip
SAFE_TYPES = {"table", "chart", "markdown", "metric", "newsfeed"}
PARAM_KEYS = {
    "paramName", "type", "value", "label", "description", "show", "options", "optionsEndpoint",
    "optionsParams", "multiSelect", "multiple", "style",
}  # fmt: skip
PARAM_TYPES = {"text", "number", "boolean", "date", "ticker", "endpoint", "form", "tabs"}
GRID_KEYS = {"w", "h", "minW", "minH", "maxW", "maxH"}
DATA_KEYS = {"dataKey", "table"}
TABLE_KEYS = {
    "showAll",
    "enableCharts",
    "transpose",
    "enableAdvanced",
    "enableFormulas",
    "formatterFn",
    "chartView",
    "columnsDefs",
}
COLUMN_KEYS = {
    "field", "headerName", "headerTooltip", "cellDataType", "chartDataType", "formatterFn",
    "decimalPlaces", "renderFn", "renderFnParams", "width", "minWidth", "maxWidth", "hide",
    "pinned", "align", "prefix", "suffix", "sparkline",
}  # fmt: skip
CELL_TYPES = {"text", "number", "boolean", "date", "dateString", "object"}
CHART_DATA_TYPES = {"category", "series", "time", "excluded"}
FORMATTERS = {"int", "none", "percent", "normalized", "normalizedPercent", "dateToYear"}
RENDER_FNS = {"greenRed", "titleCase", "hoverCard", "cellOnClick", "columnColor", "showCellChange"}
DATE_DEFAULT = re.compile(r"^(\$currentDate([+-]\d+[hdwMy])?|\d{4}-\d{2}-\d{2})$")
CRON = re.compile(r"^\S+( \S+){4}$")
APP_KEYS = {
    "name",
    "description",
    "img",
    "img_dark",
    "img_light",
    "allowCustomization",
    "tabs",
    "groups",
    "prompts",
}
LAYOUT_KEYS = {"i", "x", "y", "w", "h", "state", "groups"}
GROUP_KEYS = {"name", "type", "paramName", "defaultValue", "widgetIds"}


def widgets_problems(manifest: Any) -> list[str]:
    if not isinstance(manifest, dict):
        return ["widgets.json root must be an object"]
    problems: list[str] = []
    for widget_id, widget in manifest.items():
        problems += [f"{widget_id}: {p}" for p in _widget_problems(widget_id, widget)]
    return problems


def _widget_problems(widget_id: str, widget: dict[str, Any]) -> list[str]:
    out = [f"unknown key {k!r}" for k in widget if k not in WIDGET_KEYS]
    if not re.fullmatch(r"[A-Za-z0-9_]+", widget_id):
        out.append("id is not URL-safe")
    if widget.get("widgetId", widget_id) != widget_id:
        out.append("widgetId does not mirror the key")
    for key in ("name", "description", "endpoint"):
        if not isinstance(widget.get(key), str) or not widget[key]:
            out.append(f"{key} missing")
    if widget.get("type", "table") not in SAFE_TYPES:
        out.append(f"type {widget.get('type')!r} outside the safe set")
    if str(widget.get("endpoint", "")).startswith("/"):
        out.append("endpoint must be relative")
    grid = widget.get("gridData", {})
    if set(grid) - GRID_KEYS or not all(isinstance(v, int) for v in grid.values()):
        out.append(f"bad gridData {grid}")
    if "source" in widget and not (
        isinstance(widget["source"], list) and all(isinstance(s, str) for s in widget["source"])
    ):
        out.append("source must be a string array")
    for flag in ("raw", "runButton", "exportable"):
        if flag in widget and not isinstance(widget[flag], bool):
            out.append(f"{flag} must be a boolean")
    out += _refresh_problems(widget)
    params = widget.get("params", [])
    flat = [p for row in params for p in (row if isinstance(row, list) else [row])]
    for param in flat:
        out += [f"param {param.get('paramName')}: {p}" for p in _param_problems(param)]
    out += _data_problems(widget.get("data", {}))
    return out


def _refresh_problems(widget: dict[str, Any]) -> list[str]:
    out = []
    interval = widget.get("refetchInterval")
    if interval is not None and not (
        interval is False
        or (isinstance(interval, int) and not isinstance(interval, bool) and interval >= 1000)
        or (isinstance(interval, str) and CRON.match(interval))
    ):
        out.append(f"bad refetchInterval {interval!r}")
    stale = widget.get("staleTime")
    if stale is not None and not (isinstance(stale, int) and stale > 0):
        out.append(f"bad staleTime {stale!r}")
    return out


def _param_problems(param: dict[str, Any]) -> list[str]:
    out = [f"unknown key {k!r}" for k in param if k not in PARAM_KEYS]
    if not param.get("paramName"):
        out.append("paramName missing")
    kind = param.get("type")
    if kind not in PARAM_TYPES:
        out.append(f"bad type {kind!r}")
    if kind == "endpoint" and not param.get("optionsEndpoint"):
        out.append("endpoint param without optionsEndpoint")
    for option in param.get("options", []):
        if not isinstance(option, dict) or "value" not in option:
            out.append(f"option {option!r} is not an object with value")
    value = param.get("value")
    if kind == "date" and value not in (None, "") and not DATE_DEFAULT.match(str(value)):
        out.append(f"bad date default {value!r}")
    style = param.get("style")
    if style is not None and not 200 <= style.get("popupWidth", 0) <= 1000:
        out.append("style.popupWidth must be 200-1000")
    return out


def _data_problems(data: dict[str, Any]) -> list[str]:
    out = [f"unknown data key {k!r}" for k in data if k not in DATA_KEYS]
    table = data.get("table", {})
    out += [f"unknown data.table key {k!r}" for k in table if k not in TABLE_KEYS]
    for col in table.get("columnsDefs", []):
        out += [f"column {col.get('field')}: {p}" for p in _column_problems(col)]
    return out


def _column_problems(col: dict[str, Any]) -> list[str]:
    out = [f"unknown key {k!r}" for k in col if k not in COLUMN_KEYS]
    if not col.get("field"):
        out.append("field missing")
    checks = (
        ("cellDataType", CELL_TYPES),
        ("chartDataType", CHART_DATA_TYPES),
        ("formatterFn", FORMATTERS),
    )
    for key, allowed in checks:
        if key in col and col[key] not in allowed:
            out.append(f"bad {key} {col[key]!r}")
    fns = col.get("renderFn", [])
    for fn in fns if isinstance(fns, list) else [fns]:
        if fn not in RENDER_FNS:
            out.append(f"bad renderFn {fn!r}")
        if fn == "cellOnClick":
            params = col.get("renderFnParams", {})
            if params.get("actionType") == "groupBy" and not params.get("groupBy", {}).get("paramName"):
                out.append("cellOnClick groupBy without paramName")
    return out


def apps_problems(apps: Any, widgets: dict[str, Any]) -> list[str]:
    if not isinstance(apps, list):
        return ["apps.json root must be an array"]
    out: list[str] = []
    for app in apps:
        name = app.get("name", "?")
        out += [f"{name}: unknown key {k!r}" for k in app if k not in APP_KEYS]
        if not isinstance(app.get("allowCustomization"), bool):
            out.append(f"{name}: allowCustomization must be a boolean")
        tabs = app.get("tabs") or {}
        if not tabs:
            out.append(f"{name}: tabs must not be empty")
        for tab_id, tab in tabs.items():
            if tab.get("id") != tab_id:
                out.append(f"{name}: tab id mismatch {tab_id}")
            out += [f"{name}/{tab_id}: {p}" for p in _layout_problems(tab.get("layout", []), widgets)]
        for group in app.get("groups", []):
            out += [f"{name}: {p}" for p in _group_problems(group, widgets)]
    return out


def _layout_problems(layout: list[dict[str, Any]], widgets: dict[str, Any]) -> list[str]:
    out = []
    cells: set[tuple[int, int]] = set()
    for item in layout:
        out += [f"layout unknown key {k!r}" for k in item if k not in LAYOUT_KEYS]
        if item.get("i") not in widgets:
            out.append(f"layout names unknown widget {item.get('i')!r}")
        x, y, w, h = (item.get(k, -1) for k in ("x", "y", "w", "h"))
        if not (0 <= x <= 39 and x + w <= 40 and w > 0 and h > 0 and y >= 0):
            out.append(f"{item.get('i')}: outside the 40-column grid")
        area = {(cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)}
        if area & cells:
            out.append(f"{item.get('i')}: overlaps another widget")
        cells |= area
    return out


def _group_problems(group: dict[str, Any], widgets: dict[str, Any]) -> list[str]:
    out = [f"group unknown key {k!r}" for k in group if k not in GROUP_KEYS]
    if not re.fullmatch(r"Group \d+", str(group.get("name"))):
        out.append(f"group name {group.get('name')!r} is not 'Group N'")
    if group.get("type") not in ("param", "endpointParam"):
        out.append(f"bad group type {group.get('type')!r}")
    for widget_id in group.get("widgetIds", []):
        widget = widgets.get(widget_id)
        if widget is None:
            out.append(f"group names unknown widget {widget_id!r}")
            continue
        params = [p for row in widget.get("params", []) for p in (row if isinstance(row, list) else [row])]
        if not any(p.get("paramName") == group.get("paramName") for p in params):
            out.append(f"{widget_id} has no param {group.get('paramName')!r}")
    return out


def response_problems(widget: dict[str, Any], body: Any) -> list[str]:
    """Shape of a widget endpoint's response, by widget type (protocol §4.2)."""
    kind = widget.get("type", "table")
    if kind == "table":
        ok = isinstance(body, list) and all(isinstance(r, dict) for r in body)
        return [] if ok else ["table response must be an array of objects"]
    if kind == "chart":
        if isinstance(body, dict) and "data" in body and "layout" in body:
            return []
        return ["chart response must be a Plotly figure {data, layout}"]
    if kind == "metric":
        ok = isinstance(body, list) and all(
            isinstance(m, dict) and "label" in m and "value" in m for m in body
        )
        return [] if ok else ["metric response must be a list of {label, value}"]
    if kind == "markdown":
        return [] if isinstance(body, str) else ["markdown response must be a string"]
    if kind == "newsfeed":
        ok = isinstance(body, list) and all(isinstance(a, dict) and a.get("title") for a in body)
        return [] if ok else ["newsfeed response must be a list with titles"]
    return [f"unknown widget type {kind}"]
