"""SQLite through aiosqlite: read-only file, write-denying authorizer, progress-handler timeout.

The file is opened with ``mode=ro`` and ``PRAGMA query_only``; an authorizer refuses ATTACH,
PRAGMA writes and every write action, so even a statement that slips past the load check cannot
change the file. Time limits interrupt the statement inside SQLite (a progress handler), so the
worker thread is free again as soon as the limit passes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import time
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import quote

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.catalog.sqlcheck import CompiledSql
from gateway.errors import (
    ExplainError,
    GatewayError,
    InvalidParameters,
    ParamProblem,
    QueryFailed,
    QueryTimeout,
)
from gateway.settings import DatabaseSettings, Settings
from gateway.sources.base import CHUNK_ROWS, Column, Fetched, Limits, RowSink, bind_positional

log = logging.getLogger("gateway.sources.sqlite")
_PROGRESS_STEPS = 2_000
_DENIED_ACTIONS = frozenset(
    getattr(sqlite3, name)
    for name in (
        "SQLITE_ATTACH", "SQLITE_DETACH", "SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE",
        "SQLITE_CREATE_INDEX", "SQLITE_CREATE_TABLE", "SQLITE_CREATE_TEMP_INDEX",
        "SQLITE_CREATE_TEMP_TABLE", "SQLITE_CREATE_TEMP_TRIGGER", "SQLITE_CREATE_TEMP_VIEW",
        "SQLITE_CREATE_TRIGGER", "SQLITE_CREATE_VIEW", "SQLITE_CREATE_VTABLE", "SQLITE_DROP_INDEX",
        "SQLITE_DROP_TABLE", "SQLITE_DROP_TEMP_INDEX", "SQLITE_DROP_TEMP_TABLE",
        "SQLITE_DROP_TEMP_TRIGGER", "SQLITE_DROP_TEMP_VIEW", "SQLITE_DROP_TRIGGER",
        "SQLITE_DROP_VIEW", "SQLITE_DROP_VTABLE", "SQLITE_ALTER_TABLE", "SQLITE_REINDEX",
        "SQLITE_ANALYZE",
    )
    if hasattr(sqlite3, name)
)  # fmt: skip
_DENIED_FUNCTIONS = frozenset({"load_extension", "writefile", "readfile", "edit"})


class _Guard:
    """Per-connection deadline read by the progress handler (in the driver's thread)."""

    __slots__ = ("deadline",)

    def __init__(self) -> None:
        self.deadline = float("inf")

    def progress(self) -> int:
        return 1 if time.monotonic() > self.deadline else 0


def _authorizer(action: int, arg1: str | None, arg2: str | None, _db: Any, _src: Any) -> int:
    if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
        return sqlite3.SQLITE_OK  # SQLite reports this when it sets up json_each(); no write
    if action in _DENIED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg1 not in _READ_PRAGMAS:
        # Every other pragma is refused, with or without a value (`query_only = 0`); the
        # argument of a read pragma is only a table or index name (`pragma_table_info('t')`).
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_TRANSACTION:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


_READ_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "index_list",
        "index_info",
        "foreign_key_list",
        "database_list",
        "function_list",
    }
)


def read_only_url(url: str) -> str:
    """``sqlite+aiosqlite:///path`` -> a ``mode=ro`` URI, so the file can never be written."""
    prefix = "sqlite+aiosqlite:///"
    path = url[len(prefix) :] if url.startswith(prefix) else url
    path, _, query = path.partition("?")
    params = "&".join(p for p in (query, "mode=ro", "uri=true") if p)
    return f"{prefix}file:{quote(path)}?{params}"


def create_engine(db: DatabaseSettings, settings: Settings, limits: Limits) -> AsyncEngine:
    engine = create_async_engine(
        read_only_url(db.url),
        pool_size=db.pool_size,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_s,
        pool_reset_on_return=None,  # statements never open a transaction (authorizer denies it)
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _install_guard(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.run_async(_guard_connection)

    return engine


class _ArrayAgg:
    """``array_agg(x)`` for SQLite: a JSON array, as PostgreSQL's ``array_agg`` gives an array.

    Lets one query file build sparkline cells on both databases (the gateway decodes the JSON
    text of sparkline columns).
    """

    def __init__(self) -> None:
        self.items: list[Any] = []

    def step(self, value: Any) -> None:
        self.items.append(value)

    def finalize(self) -> str:
        return json.dumps(self.items)


async def _guard_connection(conn: Any) -> None:
    guard = _Guard()
    # aiosqlite exposes no create_aggregate; run sqlite3's own in the connection's thread.
    await conn._execute(conn._conn.create_aggregate, "array_agg", 1, _ArrayAgg)
    await conn.execute("PRAGMA query_only = 1")
    await conn.set_authorizer(_authorizer)
    await conn.set_progress_handler(guard.progress, _PROGRESS_STEPS)
    conn.gateway_guard = guard


class SqliteDriver:
    """Runs compiled statements on an ``aiosqlite.Connection``."""

    async def fetch(
        self,
        conn: Any,
        query: CompiledSql,
        values: Mapping[str, Any],
        limits: Limits,
        sink: RowSink,
    ) -> Fetched:
        args = bind_args(query, values)
        guard: _Guard = conn.gateway_guard
        guard.deadline = time.monotonic() + limits.timeout_ms / 1000
        cancelled = False
        try:
            cursor = await conn.execute(query.text, args)
            try:
                return await _fetch_chunks(cursor, limits.max_rows, sink)
            finally:
                await cursor.close()
        except BaseException as error:
            cancelled = isinstance(error, asyncio.CancelledError)
            raise _translate(error) from error
        finally:
            # Cancelled (client gone): the statement still runs in the driver's thread, so the
            # deadline stays passed and the progress handler stops it; the connection is then
            # discarded. Resetting it here would let the statement run to its end.
            guard.deadline = 0.0 if cancelled else float("inf")

    async def explain(self, conn: Any, query: CompiledSql, values: Mapping[str, Any]) -> list[Column]:
        """Compile, then sample a few rows: SQLite declares no result types, values tell them."""
        args = bind_args(query, values)
        try:
            cursor = await conn.execute(f"EXPLAIN {query.text}", args)
            await cursor.close()
        except sqlite3.Error as error:
            raise ExplainError(str(error), _line_of_error(query.text, str(error))) from None
        except BaseException as error:
            raise _translate(error) from error
        return await _sample_columns(conn, query.text, args)

    def is_disconnect(self, error: BaseException) -> bool:
        return False


async def _fetch_chunks(cursor: Any, max_rows: int, sink: RowSink) -> Fetched:
    columns = tuple(d[0] for d in cursor.description or ())
    count, truncated = 0, False
    while True:
        rows = await cursor.fetchmany(min(CHUNK_ROWS, max_rows + 1 - count))
        if count + len(rows) > max_rows:
            rows, truncated = rows[: max_rows - count], True
        sink.add(columns, rows)
        count += len(rows)
        if truncated or len(rows) < CHUNK_ROWS:
            return Fetched(columns, count, truncated)


def _line_of_error(sql: str, message: str) -> int:
    """SQLite gives no position: point at the name it complains about, else the first SQL line."""
    match = re.search(r"no such (?:table|column|function): (\S+)", message)
    if match:
        name = match.group(1).split(".")[-1]
        found = re.search(rf"\b{re.escape(name)}\b", sql, re.IGNORECASE)
        if found:
            return sql.count("\n", 0, found.start()) + 1
    stripped = sql.lstrip()
    return sql.count("\n", 0, len(sql) - len(stripped)) + 1


_SAMPLE_ROWS = 50


async def _sample_columns(conn: Any, sql: str, args: list[Any]) -> list[Column]:
    """Result columns and their kinds, from running the query briefly with its defaults.

    A failure here is data-dependent (the statement compiled), so it is not a load error: the
    columns are simply unknown until the query runs.
    """
    guard: _Guard = conn.gateway_guard
    guard.deadline = time.monotonic() + 2.0
    try:
        cursor = await conn.execute(sql, args)
        try:
            sample = await cursor.fetchmany(_SAMPLE_ROWS)
            names = [d[0] for d in cursor.description or ()]
        finally:
            await cursor.close()
    except sqlite3.Error as error:
        log.debug("could not sample columns: %s", error)
        return []
    finally:
        guard.deadline = float("inf")
    return [Column(name, _kind_of([row[i] for row in sample])) for i, name in enumerate(names)]


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _kind_of(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "text"
    if all(isinstance(v, int) for v in present):
        return "integer"
    if all(isinstance(v, int | float) for v in present):
        return "number"
    if all(isinstance(v, str) and _ISO_DATE.match(v) for v in present):
        return "date"
    if all(isinstance(v, str) and _ISO_DATETIME.match(v) for v in present):
        return "datetime"
    return "text"


_INT64 = 2**63


def bind_args(query: CompiledSql, values: Mapping[str, Any]) -> list[Any]:
    """Positional values for ``query``; a value SQLite cannot hold is a 422 naming its param."""
    return bind_positional(query.order, values, lambda value, _: bind_value(value))


def bind_value(value: Any) -> Any:
    """SQLite stores dates as ISO text and booleans as 0/1; lists travel as one JSON array."""
    if isinstance(value, list):
        return json.dumps([_json_item(v) for v in value])
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        # e.g. a LIMIT of 1e300 (a whole number, made an int): sqlite3 would raise OverflowError
        raise ValueError("is out of range for a 64-bit integer")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json_item(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _translate(error: BaseException) -> BaseException:
    if isinstance(error, GatewayError | asyncio.CancelledError):
        return error
    if isinstance(error, sqlite3.OperationalError) and "interrupted" in str(error):
        return QueryTimeout("query exceeded its time limit")
    if isinstance(error, sqlite3.IntegrityError) and "datatype mismatch" in str(error):
        # e.g. a fractional number bound to LIMIT: the request's value, not the query, is wrong
        return InvalidParameters([ParamProblem("params", "a value has the wrong type for this query")])
    if isinstance(error, sqlite3.Error):
        log.error("query failed: %s", error)
        return QueryFailed("query failed")
    return error
