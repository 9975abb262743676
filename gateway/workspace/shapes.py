"""Result -> the response body of each widget type, and of options endpoints.

| type | body |
|---|---|
| table | JSON array of row objects (large results are encoded chunk by chunk upstream) |
| chart | Plotly figure ``{data, layout, config}``; with ``raw=true``: the rows as records |
| metric | ``[{label, value, delta?}]``, one tile per row |
| markdown | a JSON string: the file's template rendered over the rows |
| newsfeed | ``[{title, date, author, excerpt, body}]`` |
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from msgspec import UNSET

from gateway.catalog.models import ChartSpec, ColumnDef, MetricSpec, NewsfeedSpec
from gateway.catalog.spec import QuerySpec
from gateway.errors import QueryFailed
from gateway.sources import Result
from gateway.templating import render_markdown
from gateway.workspace.charts import chart_columns, figure, theme_of
from gateway.workspace.encode import encode_json, encode_rows, records

_EXTRA_INFO = ("description", "rightOfDescription")


def wants_raw(spec: QuerySpec, query: Mapping[str, list[str]]) -> bool:
    return spec.meta.raw is True and query.get("raw", [""])[-1].lower() == "true"


def variant(spec: QuerySpec, query: Mapping[str, list[str]]) -> str:
    """The part of a request, beyond the params, that changes the body (part of the cache key)."""
    if spec.widget_type != "chart":
        return ""
    return "raw" if wants_raw(spec, query) else theme_of(query)


def streams_as_table(spec: QuerySpec, query: Mapping[str, list[str]]) -> bool:
    """Bodies that are a plain JSON array of the rows, encodable chunk by chunk."""
    plain_table = spec.widget_type == "table" and not sparkline_columns(spec)
    return plain_table or (spec.widget_type == "chart" and wants_raw(spec, query))


def shape_widget(
    spec: QuerySpec, result: Result, query: dict[str, list[str]], values: Mapping[str, Any]
) -> bytes:
    """The body of ``GET /sql/<id>`` for every widget type."""
    kind = spec.widget_type
    if kind == "chart" and not wants_raw(spec, query):
        chart = spec.meta.chart if isinstance(spec.meta.chart, ChartSpec) else ChartSpec()
        _require(spec, result, chart_columns(chart))
        return encode_json(figure(chart, result.columns, result.rows, theme_of(query)))
    if kind == "metric":
        return encode_json(metric_tiles(spec, result))
    if kind == "markdown":
        template = spec.meta.markdown if isinstance(spec.meta.markdown, str) else _default_markdown()
        return encode_json(render_markdown(template, result.columns, result.rows, values))
    if kind == "newsfeed":
        return encode_json(articles(spec, result))
    return (
        encode_json(table_records(spec, result))
        if sparkline_columns(spec)
        else encode_rows(result.columns, result.rows)
    )


def shape_options(
    spec: QuerySpec, result: Result, query: dict[str, list[str]], values: Mapping[str, Any]
) -> bytes:
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


def metric_tiles(spec: QuerySpec, result: Result) -> list[dict[str, Any]]:
    names = spec.meta.metric if isinstance(spec.meta.metric, MetricSpec) else MetricSpec()
    _require(spec, result, [names.label, names.value])
    tiles = []
    for row in records(result.columns, result.rows):
        tile = {"label": str(row[names.label]), "value": row[names.value]}
        if row.get(names.delta) is not None:
            tile["delta"] = row[names.delta]
        tiles.append(tile)
    return tiles


def articles(spec: QuerySpec, result: Result) -> list[dict[str, Any]]:
    names = spec.meta.newsfeed if isinstance(spec.meta.newsfeed, NewsfeedSpec) else NewsfeedSpec()
    _require(spec, result, [names.title])
    out = []
    for row in records(result.columns, result.rows):
        out.append(
            {
                "title": str(row[names.title]),
                "date": _iso(row.get(names.date)),
                "author": str(row.get(names.author) or ""),
                "excerpt": str(row.get(names.excerpt) or ""),
                "body": str(row.get(names.body) or ""),
            }
        )
    return out


def sparkline_columns(spec: QuerySpec) -> frozenset[str]:
    table = spec.meta.data.table if spec.meta.data is not UNSET else UNSET
    columns = table.columnsDefs if table is not UNSET else UNSET
    if columns is UNSET:
        return frozenset()
    return frozenset(c.field for c in columns if isinstance(c, ColumnDef) and c.sparkline is not UNSET)


def table_records(spec: QuerySpec, result: Result) -> list[dict[str, Any]]:
    """Rows as objects, with sparkline cells decoded when the database returned JSON text
    (SQLite's ``json_group_array``) instead of an array (PostgreSQL's ``array_agg``)."""
    sparks = sparkline_columns(spec)
    out = []
    for row in records(result.columns, result.rows):
        for name in sparks:
            if isinstance(row.get(name), str):
                try:
                    row[name] = json.loads(row[name])
                except ValueError:
                    row[name] = None
        out.append(row)
    return out


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _require(spec: QuerySpec, result: Result, columns: Sequence[str]) -> None:
    if not result.columns and not result.rows:
        return  # no rows: nothing to read
    missing = [c for c in columns if c not in result.columns]
    if missing:
        raise QueryFailed(f"{spec.id}: the query returns no column {', '.join(missing)}")


def _default_markdown() -> str:
    return "{% for r in rows %}{% for k, v in r.items() %}**{{ k }}**: {{ v }}  \n{% endfor %}\n{% endfor %}"
