"""Load a queries folder into a ``Catalog``, or report every problem as ``path:line: message``."""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from gateway.catalog import models
from gateway.catalog.apps import load_apps
from gateway.catalog.frontmatter import FrontMatterSyntaxError, Path_, line_of, split_query_file
from gateway.catalog.messages import explain_validation_error
from gateway.catalog.models import FrontMatter, Param
from gateway.catalog.spec import Catalog, ParamSpec, QuerySpec
from gateway.catalog.sqlcheck import SqlProblem, analyze, compile_sql
from gateway.catalog.values import parse_value
from gateway.errors import CatalogError, QueryFileError
from gateway.templating import check_template

_ID = re.compile(r"[A-Za-z0-9_]+\Z")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CRON = re.compile(r"[\d*/,\-A-Za-z?LW#]+( [\d*/,\-A-Za-z?LW#]+){4}\Z")
_CHART_TYPES = frozenset(typing.get_args(models.ChartType))


def load_catalog(root: Path, dialects: Mapping[str, str]) -> Catalog:
    """Load every ``*.sql`` under ``root``; raise ``CatalogError`` listing all problems.

    ``dialects`` maps each configured source name to ``postgres`` or ``sqlite``.
    Files and folders whose name starts with ``.`` or ``_`` are skipped.
    """
    if not root.is_dir():
        raise CatalogError([QueryFileError(root, 0, "queries folder not found")])
    problems: list[QueryFileError] = []
    specs: dict[str, QuerySpec] = {}
    for path in sorted(root.rglob("*.sql")):
        if any(part.startswith((".", "_")) for part in path.relative_to(root).parts):
            continue
        try:
            spec = load_query_file(path, root, dialects)
        except QueryFileError as exc:
            problems.append(exc)
            continue
        if spec.id in specs:
            other = specs[spec.id].path
            problems.append(QueryFileError(path, 1, f"widget id {spec.id!r} is also used by {other}"))
            continue
        specs[spec.id] = spec
    problems.extend(_check_references(specs))
    apps, app_problems = load_apps(root / "apps", specs)
    problems.extend(app_problems)
    if problems:
        raise CatalogError(problems)
    return Catalog(root=root, specs=specs, apps=tuple(apps))


def widget_id_for(path: Path, root: Path) -> str:
    """Sub-folders prefix the id: ``equity/prices.sql`` is widget ``equity_prices``."""
    rel = path.relative_to(root).with_suffix("")
    return "_".join(rel.parts)


def load_query_file(path: Path, root: Path, dialects: Mapping[str, str]) -> QuerySpec:
    """Parse and validate one query file."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: editors on Windows may write a BOM
    except UnicodeDecodeError as exc:
        raise QueryFileError(path, 1, f"not UTF-8 text ({exc.reason})") from None
    try:
        split = split_query_file(text)
    except FrontMatterSyntaxError as exc:
        raise QueryFileError(path, exc.line, exc.message) from None
    check = _Checker(path, split.lines, split.meta_line)
    meta = check.front_matter(split.meta)
    query_id = widget_id_for(path, root)
    if not _ID.match(query_id):
        raise QueryFileError(
            path, 1, f"widget id {query_id!r} must use only letters, digits and _; rename the file"
        )
    database = meta.database if isinstance(meta.database, str) else "default"
    if database not in dialects:
        check.fail(("database",), f"unknown database {database!r}; configured: {sorted(dialects)}")
    dialect = dialects[database]
    check.widget_fields(meta)
    params, rows = check.params(meta)
    try:
        placeholders = analyze(split.sql, dialect)
    except SqlProblem as exc:
        raise QueryFileError(path, split.sql_line + exc.line - 1, exc.message) from None
    used = {p.name for p in placeholders}
    for ph in placeholders:
        param = next((p for p in params if p.name == ph.name), None)
        if param is None:
            raise QueryFileError(
                path,
                split.sql_line + ph.line - 1,
                f"placeholder :{ph.name} is not declared in params",
            )
        if not param.bound:
            raise QueryFileError(
                path, param.line, f"param {ph.name!r} is passThrough but used in SQL as :{ph.name}"
            )
    for param in params:
        if param.bound and param.name not in used:
            raise QueryFileError(
                path,
                param.line,
                f"param {param.name!r} is declared but never "
                "used in the SQL (mark it passThrough: true if intended)",
            )
    counted = {ph.name for ph in placeholders if ph.whole_number}
    params = tuple(replace(p, whole_number=p.name in counted) for p in params)
    lists = frozenset(p.name for p in params if p.multi)
    rel = path.relative_to(root)
    name = meta.name if isinstance(meta.name, str) else query_id.replace("_", " ").title()
    folder_category = rel.parts[0].replace("_", " ").title() if len(rel.parts) > 1 else "General"
    return QuerySpec(
        id=query_id,
        path=path,
        line=split.meta_line,
        meta=meta,
        params=params,
        param_rows=rows,
        database=database,
        dialect=dialect,
        sql=split.sql,
        sql_line=split.sql_line,
        compiled=compile_sql(split.sql, placeholders, dialect, lists),
        timeout_ms=meta.timeoutMs if isinstance(meta.timeoutMs, int) else None,
        max_rows=meta.maxRows if isinstance(meta.maxRows, int) else None,
        name=name,
        description=meta.description
        if isinstance(meta.description, str)
        else f"{name}, from {rel.as_posix()}.",
        category=meta.category if isinstance(meta.category, str) else folder_category,
        lines=split.lines,
    )


class _Checker:
    """Validation helpers that know the file and the line of every front-matter key."""

    def __init__(self, path: Path, lines: dict[Path_, int], meta_line: int) -> None:
        self.path, self.lines, self.meta_line = path, lines, meta_line
        self.now = datetime.now(UTC)

    def fail(self, at: Path_, message: str) -> typing.NoReturn:
        raise QueryFileError(self.path, line_of(self.lines, at, self.meta_line), message)

    def front_matter(self, data: dict[str, Any]) -> FrontMatter:
        try:
            return models.parse_front_matter(data)
        except msgspec.ValidationError as exc:
            at, message = explain_validation_error(str(exc))
            self.fail(at, message)

    def widget_fields(self, meta: FrontMatter) -> None:
        if isinstance(meta.staleTime, int) and meta.staleTime <= 0:
            self.fail(("staleTime",), "staleTime must be > 0 (milliseconds)")
        self._refetch_interval(meta.refetchInterval)
        for key in ("timeoutMs", "maxRows"):
            value = getattr(meta, key)
            if isinstance(value, int) and value <= 0:
                self.fail((key,), f"{key} must be > 0")
        if isinstance(meta.gridData, models.GridData):
            if not 1 <= meta.gridData.w <= 40:
                self.fail(("gridData", "w"), "gridData.w must be 1-40 (the grid is 40 columns)")
            if not 1 <= meta.gridData.h <= 100:
                self.fail(("gridData", "h"), "gridData.h must be 1-100")
        self._kind_keys(meta)
        if isinstance(meta.source, list) and not meta.source:
            self.fail(("source",), "source must list at least one name")
        table = meta.data.table if isinstance(meta.data, models.DataConfig) else msgspec.UNSET
        if isinstance(table, models.TableConfig):
            self._table(table)

    def _kind_keys(self, meta: FrontMatter) -> None:
        """``chart``/``metric``/``markdown``/``newsfeed`` belong to their widget type only."""
        for key in ("chart", "metric", "markdown", "newsfeed"):
            if getattr(meta, key) is not msgspec.UNSET and meta.type != key:
                self.fail((key,), f"{key} settings need type: {key} (this file is type: {meta.type})")
        if meta.type == "chart":
            self._chart(meta.chart)
        if isinstance(meta.markdown, str):
            problem = check_template(meta.markdown)
            if problem is not None:
                block = 1 if "\n" in meta.markdown else 0  # `markdown: |` starts on the next line
                line = line_of(self.lines, ("markdown",), self.meta_line) + block + problem[0] - 1
                raise QueryFileError(self.path, line, f"markdown template: {problem[1]}")

    def _chart(self, chart: models.ChartSpec | msgspec.UnsetType) -> None:
        if not isinstance(chart, models.ChartSpec):
            self.fail(("type",), "type: chart needs a chart: block (kind, x, y...)")
        if chart.kind in ("candlestick", "ohlc"):
            return
        if chart.kind == "histogram":
            if chart.x is msgspec.UNSET and chart.y is msgspec.UNSET:
                self.fail(("chart",), "a histogram needs chart.x (the column to count)")
            return
        if chart.x is msgspec.UNSET:
            self.fail(("chart",), f"a {chart.kind} chart needs chart.x")
        if chart.y is msgspec.UNSET and chart.y2 is msgspec.UNSET:
            self.fail(("chart",), f"a {chart.kind} chart needs chart.y (one column or a list)")

    def _refetch_interval(self, value: object) -> None:
        at = ("refetchInterval",)
        if value is True:
            self.fail(at, "refetchInterval must be milliseconds >= 1000, false or a cron string")
        if isinstance(value, int) and not isinstance(value, bool) and value < 1000:
            self.fail(at, "refetchInterval must be >= 1000 milliseconds")
        if isinstance(value, str) and not _CRON.match(value.strip()):
            self.fail(at, f"refetchInterval {value!r} is not a 5-field cron expression")

    def _table(self, table: models.TableConfig) -> None:
        base: Path_ = ("data", "table")
        view = table.chartView
        if isinstance(view, models.ChartView) and isinstance(view.cellRangeCols, dict):
            for chart_type in view.cellRangeCols:
                if chart_type not in _CHART_TYPES:
                    self.fail(
                        (*base, "chartView", "cellRangeCols", chart_type),
                        f"unknown chart type {chart_type!r} in cellRangeCols",
                    )
        if not isinstance(table.columnsDefs, list):
            return
        seen: set[str] = set()
        for i, col in enumerate(table.columnsDefs):
            at: Path_ = (*base, "columnsDefs", i)
            if col.field in seen:
                self.fail((*at, "field"), f"column {col.field!r} is defined twice")
            seen.add(col.field)
            if isinstance(col.decimalPlaces, int) and col.decimalPlaces < 0:
                self.fail((*at, "decimalPlaces"), "decimalPlaces must be >= 0")
            self._render_fn(col, at)

    def _render_fn(self, col: models.ColumnDef, at: Path_) -> None:
        fns = col.renderFn if isinstance(col.renderFn, list) else [col.renderFn]
        rp = col.renderFnParams if isinstance(col.renderFnParams, models.RenderFnParams) else None
        needs = {"cellOnClick": "actionType", "hoverCard": "hoverCard", "columnColor": "colorRules"}
        for fn in fns:
            key = needs.get(str(fn))
            if key and (rp is None or getattr(rp, key) is msgspec.UNSET):
                self.fail((*at, "renderFn"), f"renderFn {fn} needs renderFnParams.{key}")
        if rp is not None and rp.actionType == "groupBy" and rp.groupBy is msgspec.UNSET:
            self.fail((*at, "renderFnParams"), "actionType groupBy needs groupBy.paramName")
        if rp is not None and isinstance(rp.colorRules, list):
            for j, rule in enumerate(rp.colorRules):
                if rule.condition == "between" and rule.range is msgspec.UNSET:
                    self.fail(
                        (*at, "renderFnParams", "colorRules", j),
                        "condition between needs range: {min, max}",
                    )

    def params(self, meta: FrontMatter) -> tuple[tuple[ParamSpec, ...], tuple[tuple[str, ...], ...]]:
        raw = meta.params if isinstance(meta.params, list) else []
        nested = [isinstance(item, list) for item in raw]
        if any(nested) and not all(nested):
            self.fail(("params",), "params must be a list of params or a list of rows (lists), not a mix")
        rows: list[list[tuple[Param, Path_]]] = (
            [[(p, ("params", r, i)) for i, p in enumerate(row)] for r, row in enumerate(raw)]  # type: ignore[arg-type]
            if raw and all(nested)
            else [[(p, ("params", i)) for i, p in enumerate(raw)]]  # type: ignore[misc]
        )
        specs: list[ParamSpec] = []
        for row in rows:
            for param, at in row:
                if any(s.name == param.paramName for s in specs):
                    self.fail((*at, "paramName"), f"param {param.paramName!r} is declared twice")
                specs.append(self._param(param, at))
        names = {s.name for s in specs}
        places = [at for row in rows for _, at in row]
        for spec, at in zip(specs, places, strict=True):
            for key, ref in spec.options_params.items():
                if ref.startswith("$") and ref[1:] not in names:
                    self.fail(
                        (*at, "optionsParams", key), f"optionsParams {key}: {ref} names no param of this file"
                    )
        return tuple(specs), tuple(tuple(p.paramName for p, _ in row) for row in rows)

    def _param(self, p: Param, at: Path_) -> ParamSpec:
        if not _PARAM_NAME.match(p.paramName):
            self.fail((*at, "paramName"), f"paramName {p.paramName!r} must be an identifier")
        options_query = p.optionsQuery if isinstance(p.optionsQuery, str) else None
        if p.type == "endpoint" and options_query is None:
            self.fail(at, "a param of type endpoint needs optionsQuery: <query id>")
        if options_query is not None and p.type != "endpoint":
            self.fail((*at, "optionsQuery"), "optionsQuery needs type: endpoint")
        if isinstance(p.style, models.ParamStyle) and not 200 <= p.style.popupWidth <= 1000:
            self.fail((*at, "style"), "style.popupWidth must be 200-1000")
        multi = p.multiSelect is True
        choices = self._choices(p, at)
        default = self._default(p, at, multi, choices)
        required = default is None and p.required is not False
        return ParamSpec(
            name=p.paramName,
            type=p.type,
            default=default,
            required=required,
            multi=multi,
            choices=choices,
            options_query=options_query,
            options_params=dict(p.optionsParams) if isinstance(p.optionsParams, dict) else {},
            bound=p.passThrough is not True,
            line=line_of(self.lines, at, self.meta_line),
            model=p,
        )

    def _choices(self, p: Param, at: Path_) -> frozenset[Any] | None:
        if not isinstance(p.options, list):
            return None
        if p.type not in ("text", "number", "ticker"):
            self.fail((*at, "options"), f"static options need type text or number, not {p.type}")
        values = set()
        for i, option in enumerate(p.options):
            try:
                values.add(parse_value(p.type, str(option.value), now=self.now, max_length=10**6))
            except ValueError as exc:
                self.fail((*at, "options", i, "value"), f"option value {exc}")
        return frozenset(values)

    def _default(self, p: Param, at: Path_, multi: bool, choices: frozenset[Any] | None) -> Any:
        value = p.value
        if value is msgspec.UNSET or value is None:
            return None
        items = (
            value
            if isinstance(value, list)
            else (
                [v for v in str(value).split(",") if v.strip()]
                if multi and isinstance(value, str)
                else [value]
            )
        )
        if isinstance(value, list) and not multi:
            self.fail((*at, "value"), "a list default needs multiSelect: true")
        for item in items:
            text = item.isoformat() if hasattr(item, "isoformat") else str(item)
            if isinstance(item, bool) and p.type != "boolean":
                self.fail((*at, "value"), f"default {item!r} does not suit type {p.type}")
            if text == "":
                continue
            try:
                parsed = parse_value(p.type, text, now=self.now, max_length=10**6)
            except ValueError as exc:
                self.fail((*at, "value"), f"default {exc}")
            if choices is not None and parsed not in choices:
                self.fail((*at, "value"), f"default {text!r} is not one of the options")
        if multi:
            return [i.isoformat() if hasattr(i, "isoformat") else str(i) for i in items]
        return value.isoformat() if hasattr(value, "isoformat") else value


def _check_references(specs: Mapping[str, QuerySpec]) -> list[QueryFileError]:
    """Every optionsQuery names a query, and every param that query needs is supplied."""
    problems = []
    for spec in specs.values():
        for param in spec.params:
            if param.options_query is None:
                continue
            source = specs.get(param.options_query)
            if source is None:
                problems.append(
                    QueryFileError(
                        spec.path,
                        param.line,
                        f"optionsQuery {param.options_query!r} names no query file",
                    )
                )
                continue
            for key in param.options_params:
                if source.param(key) is None:
                    problems.append(
                        QueryFileError(
                            spec.path,
                            param.line,
                            f"optionsParams key {key!r} is not a param of {param.options_query}",
                        )
                    )
            for needed in source.params:
                if needed.required and needed.name not in param.options_params:
                    problems.append(
                        QueryFileError(
                            spec.path,
                            param.line,
                            f"optionsQuery {source.id} needs param {needed.name!r}: add it to optionsParams",
                        )
                    )
    return problems
