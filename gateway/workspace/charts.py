"""Rows + a front-matter chart spec -> a Plotly figure ``{data, layout, config}``.

Built as plain dicts (what Plotly.js reads), not through plotly's Python objects, which validate
every attribute and cost milliseconds per figure. Workspace appends ``theme=dark|light``; the
background stays transparent so the figure sits on Workspace's own widget background, and fonts,
grid lines and the colour sequence follow the theme. Workspace frames the widget with its title,
so the figure has no title unless the file asks for one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from msgspec import UNSET

from gateway.catalog.models import ChartSpec

THEMES: dict[str, dict[str, Any]] = {
    "dark": {
        "font": "#E6E6E6",
        "grid": "#2C2C33",
        "line": "#4A4A52",
        "colorway": ["#3EA6FF", "#F6C142", "#4FD18B", "#F46A6A", "#B37DF2", "#33D6D6", "#FF9F50"],
        "increasing": "#4FD18B",
        "decreasing": "#F46A6A",
    },
    "light": {
        "font": "#1F2328",
        "grid": "#E6E8EB",
        "line": "#C4C8CD",
        "colorway": ["#1F6FEB", "#D4A017", "#2DA44E", "#CF222E", "#8250DF", "#1B9AAA", "#E8590C"],
        "increasing": "#2DA44E",
        "decreasing": "#CF222E",
    },
}
TRANSPARENT = "rgba(0,0,0,0)"


def theme_of(query: Mapping[str, list[str]]) -> str:
    """``dark`` unless the request says ``theme=light`` (Workspace's default theme is dark)."""
    return "light" if query.get("theme", ["dark"])[-1].lower() == "light" else "dark"


def _as_list(value: str | list[str] | Any) -> list[str]:
    if value is UNSET:
        return []
    return [value] if isinstance(value, str) else list(value)


def chart_columns(spec: ChartSpec) -> list[str]:
    """Every result column the chart reads (checked against the query's columns)."""
    columns = [c for c in (spec.x, spec.series, spec.volume) if isinstance(c, str)]
    columns += _as_list(spec.y) + _as_list(spec.y2)
    if spec.kind in ("candlestick", "ohlc"):
        columns += [spec.open, spec.high, spec.low, spec.close]
    return list(dict.fromkeys(columns))


def figure(
    spec: ChartSpec, columns: Sequence[str], rows: Sequence[Sequence[Any]], theme: str
) -> dict[str, Any]:
    index = {name: i for i, name in enumerate(columns)}
    palette = THEMES[theme]
    if not rows:
        traces: list[dict[str, Any]] = []
    elif spec.kind in ("candlestick", "ohlc"):
        traces = _price_traces(spec, index, rows, palette)
    elif spec.kind == "histogram":
        traces = [_histogram(spec, index, rows)]
    else:
        traces = _series_traces(spec, index, rows)
    layout = _layout(
        spec, palette, has_volume=spec.kind in ("candlestick", "ohlc") and spec.volume is not UNSET
    )
    layout["showlegend"] = len(traces) > 1
    return {"data": traces, "layout": layout, "config": {"displayModeBar": False, "responsive": True}}


def _column(rows: Sequence[Sequence[Any]], i: int) -> list[Any]:
    return [row[i] for row in rows]


def _series_traces(
    spec: ChartSpec, index: dict[str, int], rows: Sequence[Sequence[Any]]
) -> list[dict[str, Any]]:
    groups: dict[Any, list[Sequence[Any]]] = {}
    if isinstance(spec.series, str):
        for row in rows:
            groups.setdefault(row[index[spec.series]], []).append(row)
    else:
        groups[None] = list(rows)
    x = index[spec.x] if isinstance(spec.x, str) else None
    traces = []
    for group, group_rows in groups.items():
        for axis, names in (("y", _as_list(spec.y)), ("y2", _as_list(spec.y2))):
            for name in names:
                label = name if group is None else (str(group) if len(names) == 1 else f"{group} {name}")
                trace = _trace(
                    spec.kind,
                    label,
                    _column(group_rows, x) if x is not None else None,
                    _column(group_rows, index[name]),
                    spec.orientation,
                )
                if axis == "y2":
                    trace["yaxis"] = "y2"
                traces.append(trace)
    return traces


def _trace(kind: str, name: str, x: list[Any] | None, y: list[Any], orientation: str) -> dict[str, Any]:
    trace: dict[str, Any] = {"name": name}
    if kind == "bar":
        trace["type"] = "bar"
    else:
        trace["type"] = "scatter"
        trace["mode"] = "markers" if kind == "scatter" else "lines"
        if kind == "area":
            trace["fill"] = "tozeroy"
    if orientation == "h" and kind == "bar":
        trace.update(orientation="h", x=y, y=x if x is not None else list(range(len(y))))
    else:
        trace.update(x=x if x is not None else list(range(len(y))), y=y)
    return trace


def _price_traces(
    spec: ChartSpec, index: dict[str, int], rows: Sequence[Sequence[Any]], palette: dict[str, Any]
) -> list[dict[str, Any]]:
    x = _column(rows, index[spec.x]) if isinstance(spec.x, str) else list(range(len(rows)))
    prices: dict[str, Any] = {
        "type": spec.kind,
        "name": "Price",
        "x": x,
        "open": _column(rows, index[spec.open]),
        "high": _column(rows, index[spec.high]),
        "low": _column(rows, index[spec.low]),
        "close": _column(rows, index[spec.close]),
        "increasing": {"line": {"color": palette["increasing"]}},
        "decreasing": {"line": {"color": palette["decreasing"]}},
    }
    traces = [prices]
    if isinstance(spec.volume, str):
        traces.append(
            {
                "type": "bar",
                "name": "Volume",
                "x": x,
                "y": _column(rows, index[spec.volume]),
                "yaxis": "y2",
                "marker": {"color": palette["line"]},
            }
        )
    return traces


def _histogram(spec: ChartSpec, index: dict[str, int], rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    column = spec.x if isinstance(spec.x, str) else _as_list(spec.y)[0]
    trace: dict[str, Any] = {"type": "histogram", "name": column, "x": _column(rows, index[column])}
    if isinstance(spec.bins, int):
        trace["nbinsx"] = spec.bins
    return trace


def _axis(palette: dict[str, Any], title: Any, fmt: Any) -> dict[str, Any]:
    axis: dict[str, Any] = {"gridcolor": palette["grid"], "linecolor": palette["line"], "zeroline": False}
    if isinstance(title, str):
        axis["title"] = {"text": title}
    if isinstance(fmt, str):
        axis["tickformat"] = fmt
    return axis


def _layout(spec: ChartSpec, palette: dict[str, Any], *, has_volume: bool) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "paper_bgcolor": TRANSPARENT,
        "plot_bgcolor": TRANSPARENT,
        "font": {"color": palette["font"], "family": "Inter, system-ui, sans-serif", "size": 12},
        "colorway": spec.colors if isinstance(spec.colors, list) else palette["colorway"],
        "margin": {"t": 36 if isinstance(spec.title, str) else 12, "r": 16, "b": 36, "l": 56},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "xaxis": _axis(palette, spec.xTitle, spec.xFormat),
        "yaxis": _axis(palette, spec.yTitle, spec.yFormat),
    }
    if isinstance(spec.title, str):
        layout["title"] = {"text": spec.title, "x": 0}
    if spec.kind in ("candlestick", "ohlc"):
        layout["xaxis"]["rangeslider"] = {"visible": False}
        # Markets close at weekends: no empty gap every five bars (a no-op for non-date axes).
        layout["xaxis"]["rangebreaks"] = [{"bounds": ["sat", "mon"]}]
    if has_volume:
        layout["yaxis"]["domain"] = [0.3, 1.0]
        layout["yaxis2"] = {
            **_axis(palette, spec.y2Title, spec.y2Format),
            "domain": [0.0, 0.22],
            "showgrid": False,
        }
    elif spec.y2 is not UNSET:
        layout["yaxis2"] = {
            **_axis(palette, spec.y2Title, spec.y2Format),
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        }
    if isinstance(spec.barMode, str):
        layout["barmode"] = spec.barMode
    return layout
