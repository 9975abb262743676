"""Ahead-of-time verification: compile every query on its database with its defaults.

Used by ``gateway check`` and at server startup (and on reload), so a query naming a missing
table or column, or a chart reading a column the query does not return, fails before anyone
requests it, with ``path:line``. The result columns found here also feed the column
definitions generated for widgets.json.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from msgspec import UNSET

from gateway.catalog.frontmatter import Path_, line_of
from gateway.catalog.models import ChartSpec, MetricSpec, NewsfeedSpec
from gateway.catalog.spec import Catalog, QuerySpec
from gateway.errors import (
    CatalogError,
    DatabaseUnavailable,
    ExplainError,
    GatewayError,
    QueryFileError,
)
from gateway.executor import Executor
from gateway.params import default_values
from gateway.sources import Column
from gateway.workspace.charts import chart_columns

log = logging.getLogger("gateway.startup")


@dataclass(frozen=True, slots=True)
class Verified:
    unreachable: list[str] = field(default_factory=list)
    """Sources that did not answer: their queries were only checked offline."""
    columns: dict[str, list[Column]] = field(default_factory=dict)
    """Result columns of every query compiled, by query id."""


async def verify_queries(catalog: Catalog, executor: Executor) -> Verified:
    """Compile every query; raise ``CatalogError`` listing each problem with ``path:line``.

    An unreachable source is skipped with a warning: the server still starts and reports
    not-ready until it answers.
    """
    problems: list[QueryFileError] = []
    verified = Verified()
    now = datetime.now(UTC)
    for name, source in executor.sources.items():
        try:
            await source.ping()
        except DatabaseUnavailable:
            log.warning("database %r is not reachable; its queries are checked on first use", name)
            verified.unreachable.append(name)
            continue
        for spec in catalog:
            if spec.database != name:
                continue
            try:
                columns = await executor.explain(spec, default_values(spec, now=now))
            except ExplainError as error:
                problems.append(QueryFileError(spec.path, spec.sql_line + error.line - 1, error.message))
                continue
            except GatewayError as error:
                problems.append(QueryFileError(spec.path, spec.sql_line, error.message))
                continue
            if columns:
                verified.columns[spec.id] = columns
                problems.extend(_missing_columns(spec, [c.name for c in columns]))
    if problems:
        raise CatalogError(problems)
    return verified


def referenced_columns(spec: QuerySpec) -> list[tuple[Path_, str]]:
    """(front-matter path, column) pairs the front-matter reads from the result."""
    meta = spec.meta
    refs: list[tuple[Path_, str]] = []
    if isinstance(meta.chart, ChartSpec) and spec.widget_type == "chart":
        refs += [(("chart",), c) for c in chart_columns(meta.chart)]
    if spec.widget_type == "metric":
        names = meta.metric if isinstance(meta.metric, MetricSpec) else MetricSpec()
        refs += [(("metric",), names.label), (("metric",), names.value)]
    if spec.widget_type == "newsfeed":
        feed = meta.newsfeed if isinstance(meta.newsfeed, NewsfeedSpec) else NewsfeedSpec()
        refs += [(("newsfeed",), feed.title)]
    table = meta.data.table if meta.data is not UNSET else UNSET
    if table is not UNSET and table.columnsDefs is not UNSET:
        refs += [
            (("data", "table", "columnsDefs", i, "field"), c.field) for i, c in enumerate(table.columnsDefs)
        ]
    if not spec.is_widget:
        refs.append(((), "value"))
    return refs


def _missing_columns(spec: QuerySpec, returned: Sequence[str]) -> list[QueryFileError]:
    problems = []
    for at, column in referenced_columns(spec):
        if column not in returned:
            what = ".".join(str(p) for p in at[:1]) or "an options query"
            problems.append(
                QueryFileError(
                    spec.path,
                    line_of(spec.lines, at, spec.line),
                    f"{what} uses column {column!r}, but the query returns: {', '.join(returned)}",
                )
            )
    return problems
