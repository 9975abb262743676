"""Read-only by construction (RO-1..3): a file that writes never loads (``path:line``), a write
hidden where the parser cannot see it (a function) fails with a generic 500 and changes nothing,
no statement can turn a session read-write for the next request, and the SQLite file stays
byte-identical with no journal ever created."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gateway.errors import CatalogError
from gateway.http import create_app
from tests.conftest import Backend, make_settings, running
from tests.faults import (
    admin,
    admin_script,
    assert_error,
    leak_guard,  # noqa: F401  (autouse: no connection outlives a module)
)


def widget(sql: str, extra: str = "") -> str:
    """A query file whose SQL starts on line 6."""
    return f"/*\n---\nname: Probe\n{extra}---\n*/\n{sql}\n"


# (dialect, SQL, line of the offence in the file)
LOAD_REJECTED = [
    ("postgres", "WITH d AS (DELETE FROM news RETURNING *) SELECT * FROM d", 6),
    ("postgres", "INSERT INTO tickers (symbol) VALUES ('ZZZ')", 6),
    ("postgres", "COPY tickers TO STDOUT", 6),
    ("postgres", "SET default_transaction_read_only = off", 6),
    ("postgres", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", 6),
    ("postgres", "COMMIT;\nINSERT INTO tickers (symbol) VALUES ('ZZZ')", 7),
    ("postgres", "SELECT nextval('gw_seq') AS n", 6),
    ("postgres", "SELECT setval('gw_seq', 1) AS n", 6),
    ("postgres", "SELECT set_config('default_transaction_read_only', 'off', false) AS s", 6),
    ("postgres", "SELECT symbol FROM tickers FOR UPDATE", 6),
    ("sqlite", "DELETE FROM news", 6),
    ("sqlite", "ATTACH DATABASE 'other.db' AS other", 6),
    ("sqlite", "PRAGMA query_only = 0", 6),
    ("sqlite", "PRAGMA writable_schema = 1", 6),
    ("sqlite", "VACUUM INTO 'copy.db'", 6),
    ("sqlite", "SELECT load_extension('evil') AS x", 6),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "line"),
    [
        pytest.param(*case, id=case[1][:40], marks=[pytest.mark.postgres] if case[0] == "postgres" else [])
        for case in LOAD_REJECTED
    ],
)
def test_a_file_that_could_write_never_loads_and_names_its_line(
    request: pytest.FixtureRequest, write_queries: Callable[..., Path], dialect: str, sql: str, line: int
) -> None:
    backend: Backend = request.getfixturevalue("pg_backend" if dialect == "postgres" else "sqlite_backend")
    queries = write_queries({"ok.sql": widget("SELECT 1 AS one"), "writer.sql": widget(sql)})
    with pytest.raises(CatalogError) as raised:
        create_app(make_settings(backend, queries_dir=queries))
    assert re.search(rf"{re.escape(str(queries / 'writer.sql'))}:{line}: ", str(raised.value)), raised.value
    assert "ok.sql" not in str(raised.value)


# --- PostgreSQL: writes the parser cannot see -------------------------------------------------------

FUNCTIONS = """
CREATE TABLE gw_ledger (n integer);
CREATE SEQUENCE gw_seq;
CREATE FUNCTION gw_bump_sql() RETURNS integer LANGUAGE sql
  AS $$ INSERT INTO gw_ledger VALUES (1) RETURNING n $$;
CREATE FUNCTION gw_bump_plpgsql() RETURNS integer LANGUAGE plpgsql
  AS $$ BEGIN INSERT INTO gw_ledger VALUES (2); RETURN 2; END $$;
CREATE FUNCTION gw_next_id() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('gw_seq') $$;
CREATE FUNCTION gw_escape() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN
  PERFORM set_config('default_transaction_read_only', 'off', false); RETURN 1; END $$;
CREATE FUNCTION gw_escape_and_write() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN
  SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; INSERT INTO gw_ledger VALUES (3); RETURN 3; END $$;
"""
DROP = """
DROP FUNCTION IF EXISTS gw_bump_sql, gw_bump_plpgsql, gw_next_id, gw_escape, gw_escape_and_write;
DROP TABLE IF EXISTS gw_ledger; DROP SEQUENCE IF EXISTS gw_seq;
"""
DEMO_TABLES = ("tickers", "prices", "fundamentals", "news")


async def pg_fingerprint(backend: Backend) -> dict[str, object]:
    """Row count and an md5 over every row of each table the tests could touch."""
    out: dict[str, object] = {}
    for table in (*DEMO_TABLES, "gw_ledger"):
        [row] = await admin(
            f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h "
            f"FROM {table} t",
            search_path=backend.search_path,
        )
        out[table] = (row["n"], row["h"])
    [seq] = await admin("SELECT last_value, is_called FROM gw_seq", search_path=backend.search_path)
    out["gw_seq"] = tuple(seq)
    return out


@pytest.fixture
async def pg_functions(pg_backend: Backend) -> AsyncIterator[Backend]:
    await admin_script(DROP + FUNCTIONS, search_path=pg_backend.search_path)
    yield pg_backend
    await admin_script(DROP, search_path=pg_backend.search_path)


async def test_pg_functions_that_write_fail_with_a_generic_500_and_change_nothing(
    pg_functions: Backend, write_queries: Callable[..., Path]
) -> None:
    callers = {f"{name}.sql": widget(f"SELECT {name}() AS v", "cache: false\n") for name in (
        "gw_bump_sql", "gw_bump_plpgsql", "gw_next_id", "gw_escape_and_write"
    )}  # fmt: skip
    before = await pg_fingerprint(pg_functions)
    queries = write_queries(callers)
    async with running(make_settings(pg_functions, queries_dir=queries)) as client:
        for name in callers:
            for _ in range(2):  # also on a connection that already ran one
                response = await client.get(f"/sql/{name.removesuffix('.sql')}")
                assert_error(response, 500, "query_failed", secrets=("gw_", "ledger", "INSERT"))
    assert await pg_fingerprint(pg_functions) == before


async def test_pg_a_statement_cannot_make_the_next_request_read_write(
    pg_functions: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries(
        {
            "escape.sql": widget("SELECT gw_escape() AS v", "cache: false\n"),
            "bump.sql": widget("SELECT gw_bump_sql() AS v", "cache: false\n"),
            "mode.sql": widget("SELECT current_setting('transaction_read_only') AS ro", "cache: false\n"),
        }
    )
    before = await pg_fingerprint(pg_functions)
    # One connection: whatever a statement leaves on the session, the next request inherits.
    settings = make_settings(
        pg_functions, queries_dir=queries, databases={"default": pg_functions.database(pool_size=1)}
    )
    async with running(settings) as client:
        for _ in range(3):
            assert_error(await client.get("/sql/escape"), 500, "query_failed", secrets=("gw_",))
            mode = await client.get("/sql/mode")
            assert mode.status_code == 200 and mode.json() == [{"ro": "on"}]
            assert_error(await client.get("/sql/bump"), 500, "query_failed", secrets=("gw_",))
    assert await pg_fingerprint(pg_functions) == before


async def test_pg_results_over_one_chunk_and_lowered_timeouts_run_read_only_too(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    sql = "SELECT n, current_setting('transaction_read_only') AS ro FROM generate_series(1, 12000) n"
    queries = write_queries({"big.sql": widget(sql), "lowered.sql": widget(sql, "timeoutMs: 5000\n")})
    async with running(make_settings(pg_backend, queries_dir=queries)) as client:
        for name in ("big", "lowered", "big"):
            rows = (await client.get(f"/sql/{name}", params={"_refresh": "1"})).json()
            assert len(rows) == 12000 and {r["ro"] for r in rows} == {"on"}, name


# --- SQLite: the file is never written -----------------------------------------------------------

SQLITE_PROBES = {
    "rows.sql": widget("SELECT symbol FROM tickers ORDER BY symbol"),
    "pragma.sql": widget("SELECT name FROM pragma_table_info('tickers') ORDER BY cid"),
    "overflow.sql": widget("SELECT abs(-9223372036854775807 - 1) AS x"),
    "heavy.sql": widget(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000000000) "
        "SELECT COUNT(*) AS c FROM s",
        "timeoutMs: 200\n",
    ),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_sqlite_file_stays_byte_identical_and_no_journal_appears(
    sqlite_backend: Backend, write_queries: Callable[..., Path], tmp_path: Path
) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "demo.sqlite"
    shutil.copy(sqlite_backend.extra["path"], db)
    digest, files = sha256(db), sorted(folder.iterdir())
    copy = Backend("sqlite", f"sqlite+aiosqlite:///{db}")
    async with running(make_settings(copy, queries_dir=write_queries(SQLITE_PROBES))) as client:
        for _ in range(3):
            assert (await client.get("/sql/rows")).status_code == 200
            assert (await client.get("/sql/pragma")).json()[0] == {"name": "symbol"}
            assert_error(await client.get("/sql/overflow"), 500, "query_failed")
            assert_error(await client.get("/sql/heavy"), 504, "query_timeout")
            assert sorted(folder.iterdir()) == files  # no -journal, -wal or -shm, ever
    assert sha256(db) == digest
    assert sorted(folder.iterdir()) == files
