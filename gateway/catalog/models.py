"""Typed front-matter: OpenBB widgets.json field names and enums, plus a few keys of ours.

Every struct forbids unknown fields, so a typo or a value Workspace would reject is a load error
with ``file:line`` instead of a backend that refuses to load. Keys of ours (not OpenBB's) are listed
in ``GATEWAY_KEYS`` / ``GATEWAY_PARAM_KEYS`` and never reach widgets.json.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, Struct, UnsetType

WidgetType = Literal["table", "chart", "markdown", "metric", "newsfeed"]
ParamType = Literal["text", "number", "boolean", "date", "ticker", "endpoint"]
CellDataType = Literal["text", "number", "boolean", "date", "dateString", "object"]
ChartDataType = Literal["category", "series", "time", "excluded"]
FormatterFn = Literal["int", "none", "percent", "normalized", "normalizedPercent", "dateToYear"]
RenderFn = Literal["greenRed", "titleCase", "hoverCard", "cellOnClick", "columnColor", "showCellChange"]
ChartType = Literal[
    "column", "groupedColumn", "stackedColumn", "normalizedColumn", "bar", "groupedBar",
    "stackedBar", "normalizedBar", "line", "scatter", "bubble", "pie", "donut", "doughnut",
    "area", "stackedArea", "normalizedArea", "histogram", "radarLine", "radarArea",
    "nightingale", "radialColumn", "radialBar", "sunburst", "rangeBar", "rangeArea", "boxPlot",
    "treemap", "heatmap", "waterfall",
]  # fmt: skip
ColorCondition = Literal[
    "eq", "ne", "gt", "lt", "gte", "lte", "between", "contains", "notContains"
]  # fmt: skip

Scalar = str | int | float | bool


class _Strict(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base: unknown keys are errors; unset optional keys are not emitted."""


class Range(_Strict):
    min: float
    max: float


class ColorRule(_Strict):
    condition: ColorCondition
    color: str
    value: Scalar | UnsetType = UNSET
    range: Range | UnsetType = UNSET
    fill: bool | UnsetType = UNSET


class GroupByAction(_Strict):
    paramName: str
    valueField: str | UnsetType = UNSET
    forceUpdate: bool | UnsetType = UNSET


class SendToAgent(_Strict):
    markdown: str


class HoverCard(_Strict):
    cellField: str | UnsetType = UNSET
    title: str | UnsetType = UNSET
    markdown: str | UnsetType = UNSET


class RenderFnParams(_Strict):
    actionType: Literal["groupBy", "sendToAgent"] | UnsetType = UNSET
    groupBy: GroupByAction | UnsetType = UNSET
    sendToAgent: SendToAgent | UnsetType = UNSET
    hoverCard: HoverCard | UnsetType = UNSET
    hoverCardData: list[str] | UnsetType = UNSET
    colorRules: list[ColorRule] | UnsetType = UNSET
    colorValueKey: str | UnsetType = UNSET


class Sparkline(_Strict):
    type: Literal["line", "area", "bar"]
    dataField: str | UnsetType = UNSET
    options: dict[str, Any] | UnsetType = UNSET


class ColumnDef(_Strict):
    field: str
    headerName: str | UnsetType = UNSET
    headerTooltip: str | UnsetType = UNSET
    cellDataType: CellDataType | UnsetType = UNSET
    chartDataType: ChartDataType | UnsetType = UNSET
    formatterFn: FormatterFn | UnsetType = UNSET
    decimalPlaces: int | UnsetType = UNSET
    renderFn: RenderFn | list[RenderFn] | UnsetType = UNSET
    renderFnParams: RenderFnParams | UnsetType = UNSET
    width: int | UnsetType = UNSET
    minWidth: int | UnsetType = UNSET
    maxWidth: int | UnsetType = UNSET
    hide: bool | UnsetType = UNSET
    pinned: Literal["left", "right"] | UnsetType = UNSET
    align: Literal["left", "center", "right"] | UnsetType = UNSET
    prefix: str | UnsetType = UNSET
    suffix: str | UnsetType = UNSET
    sparkline: Sparkline | UnsetType = UNSET


class ChartView(_Strict):
    enabled: bool | UnsetType = UNSET
    chartType: ChartType | UnsetType = UNSET
    cellRangeCols: dict[str, list[str]] | UnsetType = UNSET
    ignoreCellRange: bool | UnsetType = UNSET
    chartNavigatorEnabled: bool | UnsetType = UNSET
    chartMiniChartEnabled: bool | UnsetType = UNSET


class TableConfig(_Strict):
    showAll: bool | UnsetType = UNSET
    enableCharts: bool | UnsetType = UNSET
    transpose: bool | UnsetType = UNSET
    enableAdvanced: bool | UnsetType = UNSET
    enableFormulas: bool | UnsetType = UNSET
    formatterFn: FormatterFn | UnsetType = UNSET
    chartView: ChartView | UnsetType = UNSET
    columnsDefs: list[ColumnDef] | UnsetType = UNSET


class DataConfig(_Strict):
    dataKey: str | UnsetType = UNSET
    table: TableConfig | UnsetType = UNSET


class GridData(_Strict):
    w: int
    h: int
    minW: int | UnsetType = UNSET
    minH: int | UnsetType = UNSET
    maxW: int | UnsetType = UNSET
    maxH: int | UnsetType = UNSET


class ExtraInfo(_Strict):
    description: str | UnsetType = UNSET
    rightOfDescription: str | UnsetType = UNSET


class Option(_Strict):
    value: Scalar
    label: str | UnsetType = UNSET
    extraInfo: ExtraInfo | UnsetType = UNSET


class ParamStyle(_Strict):
    popupWidth: int


class Param(_Strict):
    paramName: str
    type: ParamType = "text"
    value: Any = UNSET
    label: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    show: bool | UnsetType = UNSET
    options: list[Option] | UnsetType = UNSET
    optionsParams: dict[str, str] | UnsetType = UNSET
    multiSelect: bool | UnsetType = UNSET
    style: ParamStyle | UnsetType = UNSET
    # Ours: never emitted.
    optionsQuery: str | UnsetType = UNSET
    """Id of the query whose rows ({value, label?}) fill this dropdown."""
    required: bool | UnsetType = UNSET
    """A param without a default is required unless this is false (then NULL is bound)."""
    passThrough: bool | UnsetType = UNSET
    """Declared but not bound into SQL (e.g. only feeds another param's optionsParams)."""


GATEWAY_PARAM_KEYS = frozenset({"optionsQuery", "required", "passThrough"})


ChartKind = Literal["line", "bar", "area", "scatter", "candlestick", "ohlc", "histogram"]


class ChartSpec(_Strict):
    """How rows become a Plotly figure (``type: chart``). Column names refer to the result."""

    kind: ChartKind = "line"
    x: str | UnsetType = UNSET
    """Column on the x axis (for histograms: the column whose values are counted)."""
    y: str | list[str] | UnsetType = UNSET
    """Column(s) on the left y axis, one trace each."""
    series: str | UnsetType = UNSET
    """Split rows into one trace per distinct value of this column (e.g. a ticker)."""
    y2: str | list[str] | UnsetType = UNSET
    """Column(s) on a secondary y axis, on the right."""
    open: str = "open"
    high: str = "high"
    low: str = "low"
    close: str = "close"
    volume: str | UnsetType = UNSET
    """Candlestick/OHLC: volume bars in a panel below the prices."""
    title: str | UnsetType = UNSET
    xTitle: str | UnsetType = UNSET
    yTitle: str | UnsetType = UNSET
    y2Title: str | UnsetType = UNSET
    xFormat: str | UnsetType = UNSET
    """d3 tick format, e.g. ``%b %Y`` for dates."""
    yFormat: str | UnsetType = UNSET
    """d3 tick format, e.g. ``.2f``, ``$,.0f``, ``.1%``."""
    y2Format: str | UnsetType = UNSET
    barMode: Literal["group", "stack", "relative", "overlay"] | UnsetType = UNSET
    orientation: Literal["v", "h"] = "v"
    bins: int | UnsetType = UNSET
    colors: list[str] | UnsetType = UNSET


class MetricSpec(_Strict):
    """Which columns hold each tile's label, value and (optional) delta."""

    label: str = "label"
    value: str = "value"
    delta: str = "delta"


class NewsfeedSpec(_Strict):
    """Which columns hold each article's fields."""

    title: str = "title"
    date: str = "date"
    author: str = "author"
    excerpt: str = "excerpt"
    body: str = "body"


class FrontMatter(_Strict):
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    type: WidgetType = "table"
    category: str | UnsetType = UNSET
    subCategory: str | UnsetType = UNSET
    imgUrl: str | UnsetType = UNSET
    gridData: GridData | UnsetType = UNSET
    params: list[Param | list[Param]] | UnsetType = UNSET
    data: DataConfig | UnsetType = UNSET
    source: list[str] | UnsetType = UNSET
    refetchInterval: int | bool | str | UnsetType = UNSET
    staleTime: int | UnsetType = UNSET
    dataUpdateDisplay: str | UnsetType = UNSET
    runButton: bool | UnsetType = UNSET
    raw: bool | UnsetType = UNSET
    exportable: bool | UnsetType = UNSET
    # Ours: never emitted.
    widget: bool = True
    """False: not listed in widgets.json; only serves dropdown options."""
    database: str | UnsetType = UNSET
    """Named source this query runs on (default ``default``)."""
    timeoutMs: int | UnsetType = UNSET
    """Lower time limit for this query; clamped to the global and source limits."""
    maxRows: int | UnsetType = UNSET
    """Lower row cap for this query; clamped to the global and source limits."""
    cache: bool = True
    """False: never serve this query from the response cache."""
    chart: ChartSpec | UnsetType = UNSET
    """``type: chart``: how rows become a Plotly figure."""
    metric: MetricSpec | UnsetType = UNSET
    """``type: metric``: column names of label, value and delta (defaults: those names)."""
    markdown: str | UnsetType = UNSET
    """``type: markdown``: a Jinja2 template (sandboxed; values are escaped)."""
    newsfeed: NewsfeedSpec | UnsetType = UNSET
    """``type: newsfeed``: column names of title, date, author, excerpt and body."""


GATEWAY_KEYS = frozenset(
    {"widget", "database", "timeoutMs", "maxRows", "cache", "chart", "metric", "markdown", "newsfeed"}
)


def parse_front_matter(data: dict[str, Any]) -> FrontMatter:
    """Convert parsed YAML into ``FrontMatter``; raises ``msgspec.ValidationError``."""
    return msgspec.convert(data, FrontMatter, strict=True)
