"""Executor: run a query spec with bound values on its source, within its limits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from gateway.catalog.spec import QuerySpec
from gateway.errors import ConnectionLost
from gateway.sources import Limits, Result, Sources


class Executor:
    """Knows specs and sources, nothing of HTTP."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.executions: Counter[str] = Counter()
        """Statements sent to a database, by query id (tests and metrics read it)."""

    def limits_for(self, spec: QuerySpec) -> Limits:
        """A file may only lower its source's limits, never raise them."""
        base = self.sources[spec.database].default_limits
        return Limits(
            timeout_ms=min(base.timeout_ms, spec.timeout_ms or base.timeout_ms),
            max_rows=min(base.max_rows, spec.max_rows or base.max_rows),
        )

    async def run(self, spec: QuerySpec, values: Mapping[str, Any]) -> Result:
        source = self.sources[spec.database]
        limits = self.limits_for(spec)
        self.executions[spec.id] += 1
        try:
            async with source.connection() as conn:
                return await source.driver.fetch(conn, spec.compiled, values, limits)
        except ConnectionLost:
            # A pooled connection died (database restarted). The statement is read-only,
            # so one retry on a fresh connection is safe and hides the restart from users.
            async with source.connection() as conn:
                return await source.driver.fetch(conn, spec.compiled, values, limits)

    async def explain(self, spec: QuerySpec, values: Mapping[str, Any]) -> None:
        """Compile ``spec`` on its database without running it."""
        source = self.sources[spec.database]
        async with source.connection() as conn:
            await source.driver.explain(conn, spec.compiled, values)
