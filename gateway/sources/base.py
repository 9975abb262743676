"""What every data source offers the executor, whatever its driver."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.catalog.sqlcheck import CompiledSql
from gateway.errors import DatabaseBusy, DatabaseUnavailable

log = logging.getLogger("gateway.sources")


CHUNK_ROWS = 5_000
"""Rows fetched per round trip; a large result never sits in memory as driver records at once."""


@dataclass(frozen=True, slots=True)
class Result:
    """Rows of one query: ``rows`` are tuples (or tuple-like driver records)."""

    columns: tuple[str, ...]
    rows: Sequence[Sequence[Any]]
    truncated: bool


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a driver reports after feeding a sink."""

    columns: tuple[str, ...]
    row_count: int
    truncated: bool


class RowSink(Protocol):
    """Consumes a result chunk by chunk, as the driver receives it."""

    def add(self, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None: ...


class Collector:
    """The simplest sink: keep every row (for results shaped as a whole)."""

    def __init__(self) -> None:
        self.rows: list[Sequence[Any]] = []

    def add(self, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        self.rows.extend(rows)


@dataclass(frozen=True, slots=True)
class Limits:
    """Effective limits of one execution (already clamped to the global ones)."""

    timeout_ms: int
    max_rows: int


class Driver(Protocol):
    """Dialect-specific execution on a raw driver connection."""

    async def fetch(
        self,
        conn: Any,
        query: CompiledSql,
        values: Mapping[str, Any],
        limits: Limits,
        sink: RowSink,
    ) -> Fetched:
        """Run the statement and feed at most ``limits.max_rows`` rows to ``sink``."""

    async def explain(self, conn: Any, query: CompiledSql, values: Mapping[str, Any]) -> None:
        """Compile the statement without running it (unknown tables/columns fail here)."""

    def is_disconnect(self, error: BaseException) -> bool: ...


class Source:
    """One named database: a SQLAlchemy engine (URL, pool, dialect) plus a driver."""

    def __init__(
        self,
        name: str,
        engine: AsyncEngine,
        driver: Driver,
        *,
        dialect: str,
        default_limits: Limits,
    ) -> None:
        self.name, self.engine, self.driver, self.dialect = name, engine, driver, dialect
        self.default_limits = default_limits
        self._disconnected = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """Check out a pooled connection and yield the raw driver connection.

        Pool exhaustion becomes ``DatabaseBusy`` (503), failure to connect
        ``DatabaseUnavailable`` (503). A connection that broke while in use is invalidated,
        and the pool is recycled so the next request reconnects instead of failing again.
        """
        if self._disconnected:
            self._disconnected = False
            await self.engine.dispose()
        sa_conn = await self._checkout()
        try:
            fairy = await sa_conn.get_raw_connection()
            try:
                yield fairy.driver_connection
            except BaseException as error:
                if isinstance(error, asyncio.CancelledError) or self.driver.is_disconnect(error):
                    self._disconnected = not isinstance(error, asyncio.CancelledError)
                    await asyncio.shield(sa_conn.invalidate())
                raise
        finally:
            await asyncio.shield(sa_conn.close())

    async def _checkout(self) -> AsyncConnection:
        try:
            return await self.engine.connect()
        except sa_exc.TimeoutError:
            raise DatabaseBusy(f"no free connection to database {self.name!r}") from None
        except (TimeoutError, sa_exc.DBAPIError, OSError) as error:
            log.warning("cannot connect to database %r: %s", self.name, _one_line(error))
            raise DatabaseUnavailable(f"database {self.name!r} is unavailable") from None

    async def ping(self) -> None:
        """Round-trip to the database; raises ``DatabaseUnavailable`` when it does not answer."""
        async with self.connection() as conn:
            try:
                await self.driver.explain(conn, CompiledSql("SELECT 1", ()), {})
            except Exception as error:
                raise DatabaseUnavailable(f"database {self.name!r} is unavailable") from error

    async def close(self) -> None:
        await self.engine.dispose()


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0][:200] if text else type(error).__name__
