"""Executor: run a query spec with bound values on its source, within its limits."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from gateway.catalog.spec import QuerySpec
from gateway.errors import ConnectionLost
from gateway.sources import Collector, Column, Fetched, Limits, Result, RowSink, Sources

T = TypeVar("T")
requester_gone: ContextVar[Callable[[], Awaitable[object]] | None] = ContextVar(
    "requester_gone", default=None
)
"""Set by the caller (the HTTP layer): returns once whoever asked for the result has gone away.

The server does not cancel a request whose client disconnected, so without this a long query
would keep its connection (and the database) busy for nobody (#6). Only queries watch it: a
request answered without the database pays nothing.
"""


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
        """Feed the rows to ``sink`` chunk by chunk (up to the row cap).

        Cancelled (``asyncio.CancelledError``) when ``requester_gone`` fires first: the driver
        cancels the statement on the server and the connection is invalidated.
        """
        gone = requester_gone.get()
        work = self._stream(spec, values, sink)
        return await (work if gone is None else cancel_when(gone, work))

    async def _stream(self, spec: QuerySpec, values: Mapping[str, Any], sink: RowSink) -> Fetched:
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


WATCH_AFTER_S = 0.05
"""Queries that finish sooner never start a watcher: most do, and a watcher is a task."""


async def cancel_when(signal: Callable[[], Awaitable[object]], work: Awaitable[T]) -> T:
    """Await ``work`` in the current task; cancel the task if ``signal()`` completes first.

    The signal is only watched once the work has run for ``WATCH_AFTER_S``: a disconnect
    matters for long queries, and watching costs a task per request.
    """
    task = asyncio.current_task()
    assert task is not None
    watchers: list[asyncio.Future[object]] = []

    def _cancel(done: asyncio.Future[object]) -> None:
        if not done.cancelled() and done.exception() is None:
            task.cancel("requester gone")

    def _watch() -> None:
        watcher = asyncio.ensure_future(signal())
        watcher.add_done_callback(_cancel)
        watchers.append(watcher)

    timer = asyncio.get_running_loop().call_later(WATCH_AFTER_S, _watch)
    try:
        return await work
    finally:
        timer.cancel()
        for watcher in watchers:
            watcher.remove_done_callback(_cancel)
            watcher.cancel()


class _Counting:
    """Passes chunks through, remembering whether any row was delivered."""

    def __init__(self, sink: RowSink) -> None:
        self.sink, self.rows = sink, 0

    def add(self, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        self.rows += len(rows)
        self.sink.add(columns, rows)
