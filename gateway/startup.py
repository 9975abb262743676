"""Ahead-of-time verification: compile every query on its database with its defaults.

Used by ``gateway check --database`` and at server startup, so a query naming a missing table or
column fails before anyone requests it, with ``path:line``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from gateway.catalog.spec import Catalog
from gateway.errors import (
    CatalogError,
    DatabaseUnavailable,
    ExplainError,
    GatewayError,
    QueryFileError,
)
from gateway.executor import Executor
from gateway.params import default_values

log = logging.getLogger("gateway.startup")


async def verify_queries(catalog: Catalog, executor: Executor) -> list[str]:
    """Compile every query; return the names of unreachable sources.

    Raises ``CatalogError`` listing each query its database rejects. An unreachable source is
    skipped with a warning: the server still starts and reports not-ready until it answers.
    """
    problems: list[QueryFileError] = []
    unreachable: list[str] = []
    now = datetime.now(UTC)
    for name, source in executor.sources.items():
        try:
            await source.ping()
        except DatabaseUnavailable:
            log.warning("database %r is not reachable; its queries are checked on first use", name)
            unreachable.append(name)
            continue
        for spec in catalog:
            if spec.database != name:
                continue
            try:
                await executor.explain(spec, default_values(spec, now=now))
            except ExplainError as error:
                problems.append(QueryFileError(spec.path, spec.sql_line + error.line - 1, error.message))
            except GatewayError as error:
                problems.append(QueryFileError(spec.path, spec.sql_line, error.message))
    if problems:
        raise CatalogError(problems)
    return unreachable
