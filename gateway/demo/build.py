"""Create the demo database: alembic migrations, then the seeded dataset.

The gateway itself only ever opens databases read-only; this module is the one place that
writes, and only into the demo schema it created (recognised by its ``demo_info`` table).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.demo.data import SEED, Dataset, generate
from gateway.settings import normalize_database_url

log = logging.getLogger("gateway.demo")
_PACKAGE = Path(__file__).resolve().parent.parent
TABLES = ("tickers", "prices", "fundamentals", "news")
_COLUMNS = {
    "tickers": (
        "symbol",
        "name",
        "sector",
        "industry",
        "exchange",
        "currency",
        "country",
        "employees",
        "ipo_date",
        "description",
    ),
    "prices": ("symbol", "date", "open", "high", "low", "close", "volume"),
    "fundamentals": (
        "symbol",
        "period_end",
        "fiscal_year",
        "fiscal_quarter",
        "revenue",
        "gross_profit",
        "net_income",
        "eps",
        "total_assets",
        "total_debt",
        "shares_outstanding",
    ),
    "news": ("id", "symbol", "published_at", "title", "author", "excerpt", "body"),
}


def bundled_path(name: str) -> Path:
    """``migrations`` or ``queries``: inside the installed package, else in the source tree."""
    packaged = _PACKAGE / "_bundled" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(bundled_path("migrations")))
    return config


def _upgrade(sync_conn: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_conn
    command.upgrade(config, revision)


def _downgrade(sync_conn: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_conn
    command.downgrade(config, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


@dataclass(frozen=True, slots=True)
class DemoInfo:
    as_of: date
    rows: dict[str, int]


def demo_engine(url: str, search_path: str | None = None) -> AsyncEngine:
    url = normalize_database_url(url)
    connect_args: dict[str, Any] = {}
    if search_path and url.startswith("postgresql"):
        connect_args["server_settings"] = {"search_path": search_path}
    return create_async_engine(url, connect_args=connect_args)


BUILD_STEPS = 2 + len(TABLES)
"""Calls ``build_demo`` makes to its ``progress`` callback: dataset, schema, one per table."""
Progress = Callable[[str], None]


async def build_demo(
    url: str,
    *,
    as_of: date | None = None,
    search_path: str | None = None,
    progress: Progress | None = None,
) -> DemoInfo:
    """Migrate ``url`` to head and (re)load the demo dataset ending on ``as_of`` (today).

    ``progress`` is called after each of the ``BUILD_STEPS`` steps with what was done.
    """
    done = progress or (lambda _: None)
    dataset = generate(as_of or date.today())
    done(f"generated {sum(len(getattr(dataset, t)) for t in TABLES)} rows")
    engine = demo_engine(url, search_path)
    try:
        await migrate(engine)
        done("schema migrated")
        async with engine.begin() as conn:
            for table in reversed(TABLES):
                await conn.execute(text(f"DELETE FROM {table}"))
            await conn.execute(text("DELETE FROM demo_info"))
            await _insert_all(conn, dataset, done)
            await conn.execute(
                text("INSERT INTO demo_info (key, value) VALUES ('as_of', :d), ('seed', :s)"),
                {"d": dataset.as_of.isoformat(), "s": str(SEED)},
            )
    finally:
        await engine.dispose()
    counts = {t: len(getattr(dataset, t)) for t in TABLES}
    log.info("demo data loaded: %s", ", ".join(f"{n} {t}" for t, n in counts.items()))
    return DemoInfo(dataset.as_of, counts)


async def _insert_all(conn: AsyncConnection, dataset: Dataset, done: Progress) -> None:
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    for table in TABLES:
        rows = getattr(dataset, table)
        columns = _COLUMNS[table]
        if conn.dialect.name == "postgresql":
            schema = await driver.fetchval("SELECT current_schema()")
            await driver.copy_records_to_table(table, records=rows, columns=columns, schema_name=schema)
        else:
            marks = ", ".join("?" for _ in columns)
            await driver.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(_sqlite_value(v) for v in row) for row in rows],
            )
        done(f"{table}: {len(rows)} rows loaded")


def _sqlite_value(value: Any) -> Any:
    """Dates as ISO text and timestamps as ISO UTC with Z, as PostgreSQL's JSON would show."""
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if type(value).__name__ == "Decimal":
        return float(value)
    return value


async def demo_as_of(url: str) -> date | None:
    """The ``as_of`` date of an existing demo database, or None if it has none."""
    engine = demo_engine(url)
    try:
        async with engine.connect() as conn:
            value = (await conn.execute(text("SELECT value FROM demo_info WHERE key = 'as_of'"))).scalar()
    except Exception:
        return None
    finally:
        await engine.dispose()
    return date.fromisoformat(value) if value else None


async def ensure_demo_sqlite(path: Path, today: date | None = None, progress: Progress | None = None) -> bool:
    """Create (or refresh when older than ``today``) the embedded demo file; True if built.

    Built into a temporary file and renamed into place, so a reader never sees half a database.
    ``progress`` as for ``build_demo``.
    """
    today = today or date.today()
    if path.is_file() and await demo_as_of(f"sqlite:///{path}") == today:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    await build_demo(f"sqlite:///{partial}", as_of=today, progress=progress)
    os.replace(partial, path)
    return True
