"""Executor: run a query spec with bound values on its source, within its limits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.catalog.spec import QuerySpec
from gateway.errors import ConnectionLost
from gateway.sources import Collector, Column, Fetched, Limits, Result, RowSink, Sources


class Executor:
    """Knows specs and sources, nothing of HTTP."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self._limits: dict[tuple[str, int | None, int | None], Limits] = {}
        self.executions: Counter[str] = Counter()
        """Statements sent to a database, by query id (tests and metrics read it)."""

    def limits_for(self, spec: QuerySpec) -> Limits:
        """A file may only lower its source's limits, never raise them."""
        memo_key = (spec.database, spec.timeout_ms, spec.max_rows)
        limits = self._limits.get(memo_key)
        if limits is None:
            base = self.sources[spec.database].default_limits
            limits = self._limits[memo_key] = Limits(
                timeout_ms=min(base.timeout_ms, spec.timeout_ms or base.timeout_ms),
                max_rows=min(base.max_rows, spec.max_rows or base.max_rows),
            )
        return limits

    async def run(self, spec: QuerySpec, values: Mapping[str, Any]) -> Result:
        """All rows at once (up to the row cap)."""
        collector = Collector()
        fetched = await self.stream(spec, values, collector)
        return Result(fetched.columns, collector.rows, fetched.truncated)

    async def stream(self, spec: QuerySpec, values: Mapping[str, Any], sink: RowSink) -> Fetched:
        """Feed the rows to ``sink`` chunk by chunk (up to the row cap)."""
        source = self.sources[spec.database]
        limits = self.limits_for(spec)
        self.executions[spec.id] += 1
        counted = _Counting(sink)
        try:
            async with source.connection() as conn:
                return await source.driver.fetch(conn, spec.compiled, values, limits, counted)
        except ConnectionLost:
            if counted.rows:
                raise  # rows already delivered: a retry would duplicate them
            # A pooled connection died (database restarted). The statement is read-only, so one
            # retry on a fresh connection is safe and hides the restart from users.
            async with source.connection() as conn:
                return await source.driver.fetch(conn, spec.compiled, values, limits, counted)

    async def explain(self, spec: QuerySpec, values: Mapping[str, Any]) -> list[Column]:
        """Compile ``spec`` on its database; its result columns (PostgreSQL: without running it)."""
        source = self.sources[spec.database]
        async with source.connection() as conn:
            return await source.driver.explain(conn, spec.compiled, values)


class _Counting:
    """Passes chunks through, remembering whether any row was delivered."""

    def __init__(self, sink: RowSink) -> None:
        self.sink, self.rows = sink, 0

    def add(self, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        self.rows += len(rows)
        self.sink.add(columns, rows)
