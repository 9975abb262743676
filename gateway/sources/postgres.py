"""PostgreSQL through asyncpg: read-only transactions, server-side timeout, capped fetch.

SQLAlchemy owns the URL, the pool and reconnects; each query runs on the asyncpg connection
itself, because SQLAlchemy's result layer would double the CPU cost of a request.

Every transaction is read-only: sessions start with ``default_transaction_read_only = on``, so a
statement's own (implicit) transaction is read-only, and results that need several round trips
run inside ``BEGIN READ ONLY``. Round trips are what cost most here: a small result is one round
trip (bind + execute); BEGIN and COMMIT are only paid by queries whose results span chunks or
whose file lowers the time limit.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.catalog.sqlcheck import CompiledSql
from gateway.catalog.values import parse_number
from gateway.errors import (
    ConnectionLost,
    DatabaseUnavailable,
    ExplainError,
    GatewayError,
    InvalidParameters,
    ParamProblem,
    QueryFailed,
    QueryTimeout,
)
from gateway.settings import DatabaseSettings, Settings
from gateway.sources.base import CHUNK_ROWS, Column, Fetched, Limits, RowSink, bind_positional

log = logging.getLogger("gateway.sources.postgres")
APPLICATION_NAME = "gateway"
_FLOATS = frozenset({"float4", "float8"})
_TEXTS = frozenset({"text", "varchar", "bpchar", "name", "unknown", "citext"})
_DISCONNECTS = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
    ConnectionError,
    OSError,
)


class SessionTampered(QueryFailed):
    """A statement changed the session's read-only default; its connection must not be reused."""

    def __init__(self) -> None:
        super().__init__("query failed")


def create_engine(db: DatabaseSettings, settings: Settings, limits: Limits) -> AsyncEngine:
    server_settings = {
        "application_name": APPLICATION_NAME,
        "statement_timeout": str(limits.timeout_ms),
        "default_transaction_read_only": "on",
        "idle_in_transaction_session_timeout": str(max(limits.timeout_ms * 2, 10_000)),
    }
    if db.search_path:
        server_settings["search_path"] = db.search_path
    return create_async_engine(
        asyncpg_url(db.url),
        pool_size=db.pool_size,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_s,
        pool_reset_on_return=None,  # we end every transaction ourselves (see fetch)
        connect_args={"server_settings": server_settings, "timeout": settings.connect_timeout_s},
    )


def asyncpg_url(url: str) -> URL:
    """libpq's ``sslmode=`` (what hosted PostgreSQL URLs carry) as asyncpg's ``ssl=``.

    asyncpg takes the same mode names under another key; passed through as is, ``sslmode``
    made every connection attempt fail ("unexpected keyword argument").
    """
    parsed = make_url(url)
    mode = parsed.query.get("sslmode")
    if mode is None:
        return parsed
    mode = mode if isinstance(mode, str) else mode[-1]
    return parsed.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})


class PostgresDriver:
    """Runs compiled statements on an ``asyncpg.Connection``."""

    def __init__(self, default_timeout_ms: int) -> None:
        self.default_timeout_ms = default_timeout_ms
        self._param_types: dict[str, tuple[str, ...]] = {}
        self._multi_chunk: set[str] = set()
        """Statements seen returning more than one chunk: they go straight to a transaction."""

    async def fetch(
        self,
        conn: Any,
        query: CompiledSql,
        values: Mapping[str, Any],
        limits: Limits,
        sink: RowSink,
    ) -> Fetched:
        fetched = await self._fetch(conn, query, values, limits, sink)
        # A function can run set_config('default_transaction_read_only', 'off', false): the
        # statement itself stays read-only, but every later one on this connection would not.
        # PostgreSQL 14+ reports that setting on each change, so checking it costs nothing.
        settings = conn._protocol.get_settings()
        if getattr(settings, "default_transaction_read_only", "on") != "on":
            log.error("a query turned off default_transaction_read_only; connection discarded")
            raise SessionTampered()
        return fetched

    async def _fetch(
        self,
        conn: Any,
        query: CompiledSql,
        values: Mapping[str, Any],
        limits: Limits,
        sink: RowSink,
    ) -> Fetched:
        args = await self._adapt(conn, query, values)
        client_timeout = limits.timeout_ms / 1000 + 1.0  # backstop if the server never answers
        if limits.timeout_ms == self.default_timeout_ms and query.text not in self._multi_chunk:
            try:
                fetched = await _fetch_single_chunk(
                    conn, query.text, args, limits.max_rows, sink, client_timeout
                )
            except BaseException as error:
                raise _translate(error, query) from error
            if fetched is not None:
                return fetched
            self._multi_chunk.add(query.text)  # discard that first chunk; stream it below
        begin = "BEGIN READ ONLY"
        if limits.timeout_ms != self.default_timeout_ms:
            begin += f"; SET LOCAL statement_timeout = {int(limits.timeout_ms)}"
        for attempt in (1, 2):
            try:
                await conn.execute(begin)
                fetched = await _fetch_chunks(conn, query.text, args, limits.max_rows, sink, client_timeout)
                await conn.execute("COMMIT")
                return fetched
            except asyncpg.exceptions.InvalidCachedStatementError:
                # The table changed shape since the statement was prepared: forget cached
                # statements and run it once more (nothing reached the sink: it failed at bind).
                await _rollback_quietly(conn)
                await conn.reload_schema_state()
                if attempt == 2:
                    raise QueryFailed("query failed") from None
            except BaseException as error:
                await _rollback_quietly(conn)
                raise _translate(error, query) from error
        raise AssertionError("unreachable")

    async def explain(self, conn: Any, query: CompiledSql, values: Mapping[str, Any]) -> list[Column]:
        try:
            stmt = await conn.prepare(query.text)
        except asyncpg.exceptions.PostgresError as error:
            position = int(getattr(error, "position", None) or 0)
            line = query.text[:position].count("\n") + 1
            raise ExplainError(str(error).splitlines()[0], line) from None
        except BaseException as error:
            raise _translate(error) from error
        self._param_types[query.text] = tuple(t.name for t in stmt.get_parameters())
        return [Column(a.name, column_kind(a.type.name)) for a in stmt.get_attributes()]

    def is_disconnect(self, error: BaseException) -> bool:
        if isinstance(error, SessionTampered):
            return True  # never hand that session to another request
        cause = error.__cause__ if isinstance(error, GatewayError) else error
        return isinstance(cause, _DISCONNECTS) and not _is_argument_error(cause)

    async def _adapt(self, conn: Any, query: CompiledSql, values: Mapping[str, Any]) -> list[Any]:
        """Bind values in the types PostgreSQL inferred for each ``$n`` (learned once per query)."""
        types = self._param_types.get(query.text)
        if types is None:
            try:
                stmt = await conn.prepare(query.text)
            except BaseException as error:
                raise _translate(error) from error
            types = self._param_types[query.text] = tuple(t.name for t in stmt.get_parameters())
        return bind_positional(query.order, values, lambda value, i: adapt_value(value, types[i]))


async def _fetch_single_chunk(
    conn: Any, sql: str, args: list[Any], max_rows: int, sink: RowSink, timeout_s: float
) -> Fetched | None:
    """One round trip in the statement's own read-only transaction; None if a chunk is too small.

    The unnamed portal ends with the implicit transaction, so a result larger than one chunk
    (and not truncated by the row cap within it) cannot be continued here.
    """
    want = max_rows + 1
    state = await conn._get_statement(sql, timeout_s, named=True)
    rows, _, done = await conn._protocol.bind_execute(state, args, "", min(CHUNK_ROWS, want), True, timeout_s)
    truncated = len(rows) > max_rows
    if not done and not truncated:
        return None
    if truncated:
        rows = rows[:max_rows]
    columns = tuple(rows[0].keys()) if rows else ()
    sink.add(columns, rows)
    return Fetched(columns, len(rows), truncated)


async def _fetch_chunks(
    conn: Any, sql: str, args: list[Any], max_rows: int, sink: RowSink, timeout_s: float
) -> Fetched:
    """Bind once, then pull ``CHUNK_ROWS`` rows per round trip from a portal into ``sink``.

    This is what asyncpg's cursor does internally, minus its per-row iteration: a small result
    costs one round trip (bind + execute), and a large one is handed over chunk by chunk, so the
    driver records of a 100,000-row result never all exist at once. Stops after ``max_rows``
    rows; one extra row tells whether the result was truncated. The portal is closed by COMMIT.
    """
    state = await conn._get_statement(sql, timeout_s, named=True)
    state.attach()  # keep the prepared statement alive while the portal uses it
    try:
        protocol = conn._protocol
        portal = conn._get_unique_id("portal")
        want = max_rows + 1
        rows, _, done = await protocol.bind_execute(
            state, args, portal, min(CHUNK_ROWS, want), True, timeout_s
        )
        columns = tuple(rows[0].keys()) if rows else ()
        count, truncated = 0, False
        while True:
            if count + len(rows) > max_rows:
                rows, truncated = rows[: max_rows - count], True
            sink.add(columns, rows)
            count += len(rows)
            if done or truncated:
                return Fetched(columns, count, truncated)
            rows, _, done = await protocol.execute(
                state, portal, min(CHUNK_ROWS, want - count), True, timeout_s
            )
    finally:
        state.detach()


_KINDS = {
    **dict.fromkeys(("int2", "int4", "int8", "oid"), "integer"),
    **dict.fromkeys(("float4", "float8", "numeric", "money"), "number"),
    "bool": "boolean",
    "date": "date",
    **dict.fromkeys(("timestamp", "timestamptz"), "datetime"),
    **dict.fromkeys(("json", "jsonb"), "json"),
}


def column_kind(pg_type: str) -> str:
    """A PostgreSQL type name as one of the column kinds widgets.json inference knows."""
    if pg_type.startswith("_"):
        return "array"
    return _KINDS.get(pg_type, "text")


def adapt_value(value: Any, pg_type: str) -> Any:
    """Convert a parsed param value into what asyncpg encodes for ``pg_type``.

    PostgreSQL infers each placeholder's type from the statement; a value that cannot be that
    type is the client's mistake (422 naming the param), never a 500.
    """
    if value is None:
        return None
    if pg_type.startswith("_"):
        items = value if isinstance(value, list) else [value]
        return [adapt_value(v, pg_type[1:]) for v in items]
    if pg_type in _TEXTS:
        if isinstance(value, bool):
            return "true" if value else "false"
        return value.isoformat() if isinstance(value, date) else str(value)
    if pg_type in _INT_RANGES:
        return _integer(value, _INT_RANGES[pg_type])
    if pg_type in _FLOATS:
        return float(_number(value))
    if pg_type == "numeric":
        return Decimal(str(_number(value)))
    if pg_type == "date":
        return _date(value)
    if pg_type in ("timestamp", "timestamptz"):
        moment = datetime.combine(_date(value), time())
        return moment.replace(tzinfo=UTC) if pg_type == "timestamptz" else moment
    if pg_type == "bool" and not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


_INT_RANGES = {"int2": 2**15, "int4": 2**31, "int8": 2**63, "oid": 2**32}


def _integer(value: Any, bound: int) -> int:
    number = _number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError("must be a whole number")
        number = int(number)
    if not -bound <= number < bound:
        raise ValueError(f"is out of range for this query (at most {bound - 1:,})")
    return number


def _number(value: Any) -> int | float:
    if isinstance(value, str):  # a text param compared with a numeric column
        try:
            return parse_number(value)
        except ValueError:
            raise ValueError("must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ValueError("must be a date (YYYY-MM-DD)")


async def _rollback_quietly(conn: Any) -> None:
    if conn.is_closed() or not conn.is_in_transaction():
        return
    try:
        await asyncio.shield(conn.execute("ROLLBACK"))
    except Exception:
        log.debug("rollback failed", exc_info=True)


def _is_argument_error(error: BaseException) -> bool:
    """asyncpg could not encode an argument (client side, before the server saw it).

    asyncpg reports these as ``DataError`` like the server's SQLSTATE class 22, but with a
    message naming the argument; the server's own data errors stay 500 ``query_failed``.
    """
    if isinstance(error, asyncpg.exceptions.InterfaceError) and isinstance(error, ValueError):
        return True
    return isinstance(error, asyncpg.exceptions.DataError) and "query argument $" in str(error)


def _translate(error: BaseException, query: CompiledSql | None = None) -> BaseException:
    """Map driver errors onto the gateway's error codes (details stay in the server log)."""
    if isinstance(error, GatewayError | asyncio.CancelledError):
        return error
    if isinstance(error, asyncpg.exceptions.QueryCanceledError | asyncio.TimeoutError):
        return QueryTimeout("query exceeded its time limit")
    if _is_argument_error(error):
        match = re.search(r"query argument \$(\d+)", str(error))
        index = int(match.group(1)) - 1 if match else -1
        name = query.order[index] if query and 0 <= index < len(query.order) else "params"
        return InvalidParameters([ParamProblem(name, f"{name} has the wrong type for this query")])
    if isinstance(error, _DISCONNECTS):
        log.warning("database connection lost: %s", str(error).splitlines()[0][:200])
        return ConnectionLost()
    if isinstance(error, asyncpg.exceptions.TooManyConnectionsError):
        return DatabaseUnavailable("database refuses more connections", retry_after_s=2)
    if isinstance(error, asyncpg.exceptions.PostgresError):
        log.error("query failed: %s %s", getattr(error, "sqlstate", ""), error)
        return QueryFailed("query failed")
    return error
