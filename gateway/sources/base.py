"""What every data source offers the executor, whatever its driver."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, Pool, PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from gateway.catalog.sqlcheck import CompiledSql
from gateway.errors import DatabaseBusy, DatabaseUnavailable, InvalidParameters, ParamProblem
from gateway.sources.gate import FifoGate

log = logging.getLogger("gateway.sources")


WARNING_EVERY_S = 10.0
"""At most one warning of a kind (busy, cannot connect) per source in this many seconds: a burst
of 503s or an outage under load would otherwise write one line per request."""
CHUNK_ROWS = 5_000
"""Rows fetched per round trip; a large result never sits in memory as driver records at once."""


@dataclass(frozen=True, slots=True)
class Result:
    """Rows of one query: ``rows`` are tuples (or tuple-like driver records)."""

    columns: tuple[str, ...]
    rows: Sequence[Sequence[Any]]
    truncated: bool


class Column(NamedTuple):
    """A result column and its kind: integer, number, boolean, date, datetime, text, json, array."""

    name: str
    kind: str


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


def bind_positional(
    order: Sequence[str], values: Mapping[str, Any], convert: Callable[[Any, int], Any]
) -> list[Any]:
    """``values`` in placeholder ``order``, each through ``convert(value, position)``.

    A ``ValueError`` from ``convert`` is a value this database cannot take: every such param is
    reported in one 422 naming it, before the statement is sent.
    """
    args, problems = [], []
    for position, name in enumerate(order):
        try:
            args.append(convert(values.get(name), position))
        except ValueError as exc:
            problems.append(ParamProblem(name, f"{name} {exc}"))
    if problems:
        raise InvalidParameters(problems)
    return args


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

    async def explain(self, conn: Any, query: CompiledSql, values: Mapping[str, Any]) -> list[Column]:
        """Compile the statement (unknown tables/columns fail here); its result columns."""

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
        pool_size: int = 5,
        pool_timeout_s: float = 2.0,
        max_waiting: int = 64,
    ) -> None:
        self.name, self.engine, self.driver, self.dialect = name, engine, driver, dialect
        self.default_limits = default_limits
        self.pool_timeout_s, self.max_waiting = pool_timeout_s, max_waiting
        self._gate = FifoGate(pool_size)  # requests wait their turn in arrival order (gate.py)
        self._disconnected = False
        self._warnings = _Debounced()
        # Records of the current pool left without a connection (invalidated; a failed
        # reconnect leaves them so): taking one means connecting, which needs a greenlet (see
        # _checkout). Kept by pool events; each record is tagged with the pool generation it was
        # connected in, so late invalidations from a replaced pool are not counted.
        self._generation = 0
        self._unconnected: set[ConnectionPoolEntry] = set()
        event.listen(engine.sync_engine, "connect", self._on_connect)
        event.listen(engine.sync_engine, "invalidate", self._on_invalidate)

    def _on_connect(self, _dbapi: object, record: ConnectionPoolEntry) -> None:
        if record.record_info is not None:  # None only for a detached connection
            record.record_info["generation"] = self._generation
        self._unconnected.discard(record)

    def _on_invalidate(self, _dbapi: object, record: ConnectionPoolEntry, _error: object) -> None:
        if (record.record_info or {}).get("generation") == self._generation:
            self._unconnected.add(record)

    def connection(self) -> _Lease:
        """``async with source.connection() as conn``: a pooled connection, as the raw driver's.

        Pool exhaustion becomes ``DatabaseBusy`` (503), failure to connect
        ``DatabaseUnavailable`` (503). A connection that broke while in use is invalidated,
        and the pool is recycled so the next request reconnects instead of failing again.
        """
        return _Lease(self)

    @property
    def pool(self) -> Pool:
        return self.engine.sync_engine.pool

    async def _recycle_pool(self) -> None:
        """Replace the pool, then close the old one's idle connections.

        The swap happens before any await, so no request checks out of the old pool once it
        is condemned; connections still checked out of it are closed when returned (_Lease).
        """
        self._disconnected = False
        engine = self.engine.sync_engine
        old, engine.pool = engine.pool, engine.pool.recreate()
        self._generation += 1
        self._unconnected.clear()
        await greenlet_spawn(old.dispose)

    @property
    def waiting(self) -> int:
        """Requests waiting for a connection."""
        return self._gate.waiting

    async def _enter_gate(self) -> None:
        """Wait (in arrival order) for a connection slot; 503 when the wait would be too long."""
        gate = self._gate
        if gate.free <= 0 and gate.waiting >= self.max_waiting:
            raise self._busy(f"too many requests waiting for database {self.name!r}")
        if not await gate.acquire(self.pool_timeout_s):
            raise self._busy(f"no free connection to database {self.name!r}")

    def _busy(self, message: str) -> DatabaseBusy:
        """The 503 to raise; logs one warning per burst, not one per rejected request."""
        pool = f"pool of {self._gate.size}, queue of {self.max_waiting}"
        self._warnings.warn("busy", f"{message} ({pool}): %d request(s) answered 503 database_busy")
        return DatabaseBusy(message)

    async def _checkout(self, pool: Pool) -> PoolProxiedConnection:
        """The pool itself, not an ``AsyncConnection``: a third of the cost per checkout.

        When every idle record holds a live connection, taking one needs no I/O and so no
        greenlet either (a third of the checkout again); connecting goes through one.
        """
        try:
            if not self._unconnected and pool.checkedin() > 0:  # type: ignore[attr-defined]
                try:
                    fairy: PoolProxiedConnection = pool.connect()
                    return fairy
                except sa_exc.MissingGreenlet:
                    # A record that must reconnect although no event said so; SQLAlchemy put
                    # it back. Connect the slow way.
                    log.debug("idle pooled record without a connection on %r; reconnecting", self.name)
            fairy = await greenlet_spawn(pool.connect)
            return fairy
        except sa_exc.TimeoutError:
            raise DatabaseBusy(f"no free connection to database {self.name!r}") from None
        except Exception as error:  # any failure to connect is an outage to the client
            reason = _one_line(error).replace("%", "%%")
            self._warnings.warn("connect", f"cannot connect to database {self.name!r}: {reason} (%d time(s))")
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


class _Lease:
    """One checkout of a source's connection (a class: cheaper per query than a generator)."""

    __slots__ = ("fairy", "pool", "source")

    def __init__(self, source: Source) -> None:
        self.source = source
        self.fairy: PoolProxiedConnection | None = None
        self.pool: Pool | None = None

    async def __aenter__(self) -> Any:
        source = self.source
        await source._enter_gate()
        try:
            if source._disconnected:
                await source._recycle_pool()
            self.pool = source.pool
            self.fairy = await source._checkout(self.pool)
        except BaseException:
            source._gate.release()
            raise
        return self.fairy.driver_connection

    async def __aexit__(self, _type: object, error: BaseException | None, _tb: object) -> None:
        source, fairy = self.source, self.fairy
        assert fairy is not None
        try:
            cancelled = isinstance(error, asyncio.CancelledError)
            disconnected = error is not None and not cancelled and source.driver.is_disconnect(error)
            if disconnected:
                source._disconnected = True  # the others are likely gone too: recycle the pool
            if cancelled or disconnected or self.pool is not source.pool:
                # Never hand a connection in an unknown state to the next request; and one of a
                # replaced pool would stay open in it until garbage collection.
                await asyncio.shield(greenlet_spawn(fairy.invalidate))
            else:
                fairy.close()  # back to the pool; no reset round trip (reset_on_return=None)
        finally:
            source._gate.release()


class _Debounced:
    """Counts occurrences per kind; logs the first, then at most one per ``WARNING_EVERY_S``."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}

    def warn(self, kind: str, template: str) -> None:
        """``template`` holds one ``%d``: how many times it happened since the last warning."""
        self._counts[kind] = self._counts.get(kind, 0) + 1
        now = time.monotonic()
        if now - self._logged_at.get(kind, -WARNING_EVERY_S) >= WARNING_EVERY_S:
            log.warning(template, self._counts[kind])
            self._logged_at[kind], self._counts[kind] = now, 0


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0][:200] if text else type(error).__name__
