"""The alembic migrations are the one definition of the demo schema, on SQLite and PostgreSQL
alike: upgrading to head creates every demo table, downgrading to base removes them all, and
upgrading again recreates exactly the same schema. Loading the demo dataset is idempotent for a
given day, and the embedded SQLite file is built once per day, never half-written.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.demo.build import (
    alembic_config,
    build_demo,
    current_revision,
    demo_as_of,
    demo_engine,
    downgrade,
    ensure_demo_sqlite,
    migrate,
)
from tests.conftest import PG_ADMIN_URL, PG_HOST, PG_PORT, require_service

DEMO_TABLES = {"tickers", "prices", "fundamentals", "news", "demo_info"}
AS_OF = date(2024, 6, 28)


@dataclass(frozen=True)
class EmptyDatabase:
    url: str
    search_path: str | None = None

    def engine(self) -> AsyncEngine:
        return demo_engine(self.url, self.search_path)


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EmptyDatabase]:
    """A database without any table: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield EmptyDatabase(f"sqlite:///{tmp_path / 'migrations.sqlite'}")
        return
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    schema = f"gw_mig_{uuid.uuid4().hex[:10]}"
    await _pg_execute(f"CREATE SCHEMA {schema}")
    try:
        yield EmptyDatabase(PG_ADMIN_URL, schema)
    finally:
        await _pg_execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


async def _pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _read_schema(conn: Connection) -> dict[str, Any]:
    """Table -> columns (name, type, nullable), primary key and indexes, without alembic's table."""
    insp = inspect(conn)
    schema: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        if table == "alembic_version":
            continue
        schema[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)],
            "primary_key": insp.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted((i["name"], tuple(i["column_names"])) for i in insp.get_indexes(table)),
        }
    return schema


async def schema_of(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_read_schema)


async def test_upgrade_creates_downgrade_removes_and_upgrade_recreates_the_same_schema(
    empty_database: EmptyDatabase,
) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = empty_database.engine()
    try:
        assert await schema_of(engine) == {}

        await migrate(engine, "head")
        created = await schema_of(engine)
        assert set(created) == DEMO_TABLES
        assert await current_revision(engine) == head
        assert [c[0] for c in created["prices"]["columns"]] == [
            "symbol", "date", "open", "high", "low", "close", "volume",
        ]  # fmt: skip
        assert created["prices"]["primary_key"] == ["symbol", "date"]

        await downgrade(engine, "base")
        assert await schema_of(engine) == {}
        assert await current_revision(engine) is None

        await migrate(engine, "head")
        assert await schema_of(engine) == created
        assert await current_revision(engine) == head
    finally:
        await engine.dispose()


async def _contents(database: EmptyDatabase) -> tuple[dict[str, int], str]:
    """Row count of every demo table and a digest of every price row, in key order."""
    engine = database.engine()
    try:
        async with engine.connect() as conn:
            counts = {
                table: (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in sorted(DEMO_TABLES)
            }
            prices = await conn.execute(
                text("SELECT symbol, date, open, high, low, close, volume FROM prices ORDER BY symbol, date")
            )
            digest = hashlib.sha256()
            for row in prices:
                digest.update(repr(tuple(row)).encode())
    finally:
        await engine.dispose()
    return counts, digest.hexdigest()


async def test_loading_the_demo_twice_for_one_day_gives_identical_data(
    empty_database: EmptyDatabase,
) -> None:
    first = await build_demo(empty_database.url, as_of=AS_OF, search_path=empty_database.search_path)
    counts, checksum = await _contents(empty_database)
    assert first.as_of == AS_OF
    assert all(counts[table] == n > 0 for table, n in first.rows.items())
    assert counts["demo_info"] >= 1

    second = await build_demo(empty_database.url, as_of=AS_OF, search_path=empty_database.search_path)

    assert second == first
    assert await _contents(empty_database) == (counts, checksum)


async def test_embedded_demo_is_built_once_per_day_and_rebuilt_for_a_later_day(tmp_path: Path) -> None:
    path = tmp_path / "embedded" / "demo.sqlite"

    assert await ensure_demo_sqlite(path, today=AS_OF) is True
    assert await demo_as_of(f"sqlite:///{path}") == AS_OF
    built = path.stat()

    assert await ensure_demo_sqlite(path, today=AS_OF) is False
    again = path.stat()
    assert (again.st_ino, again.st_mtime_ns, again.st_size) == (
        built.st_ino,
        built.st_mtime_ns,
        built.st_size,
    )

    later = AS_OF + timedelta(days=3)
    assert await ensure_demo_sqlite(path, today=later) is True
    assert await demo_as_of(f"sqlite:///{path}") == later
    assert sorted(p.name for p in path.parent.iterdir()) == ["demo.sqlite"]  # no partial file left
