"""Query-string values reach SQL only as typed bind values: every invalid one is a 422 naming it
(all of them at once, never a 500), hostile text is inert data that comes back unchanged and
changes nothing, and multi-select lists of any allowed length bind as one value on both databases."""

from __future__ import annotations

import asyncio
import random
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from gateway.http import create_app
from gateway.settings import Settings
from tests.conftest import PG_ADMIN_URL, Backend, make_settings, running

pytestmark = pytest.mark.asyncio

DEMO_TABLES = ("tickers", "prices", "fundamentals", "news")

LOOKUP = """/*
---
name: Lookup
params:
  - paramName: symbol
    type: text
    value: AAPL
---
*/
SELECT symbol, name FROM tickers WHERE symbol = :symbol ORDER BY symbol
"""

ECHO = """/*
---
name: Echo
params:
  - paramName: p
    type: text
    value: default
---
*/
SELECT :p AS v
"""

SCREEN = """/*
---
name: Screen
params:
  - paramName: day
    type: date
    value: $currentDate
  - paramName: up
    type: boolean
    value: true
  - paramName: above
    type: number
    value: 0
  - paramName: symbol
    type: text
---
*/
SELECT p.symbol, p.date, p.close
FROM prices p
WHERE p.date <= :day
  AND p.close > :above
  AND p.symbol = :symbol
  AND (CASE WHEN :up THEN 1 ELSE 0 END) >= 0
ORDER BY p.date DESC
LIMIT 5
"""

LIMITED = """/*
---
name: Limited
params:
  - paramName: top
    type: number
    value: 5
---
*/
SELECT symbol FROM tickers ORDER BY symbol LIMIT :top
"""

EMPLOYEES = """/*
---
name: Employees
params:
  - paramName: min_employees
    type: number
    value: 0
  - paramName: top
    type: number
    value: 5
---
*/
SELECT symbol, employees FROM tickers WHERE employees >= :min_employees ORDER BY symbol LIMIT :top
"""

PICK = """/*
---
name: Pick
params:
  - paramName: tickers
    type: text
    multiSelect: true
    required: false
---
*/
SELECT t.symbol,
       t.name,
       (SELECT COUNT(*) FROM prices p WHERE p.symbol = t.symbol) AS days
FROM tickers t
WHERE t.symbol IN (:tickers)
ORDER BY t.symbol
"""

SKIP = """/*
---
name: Skip
params:
  - paramName: skip
    type: text
    multiSelect: true
    required: false
---
*/
SELECT symbol FROM tickers WHERE symbol NOT IN (:skip) ORDER BY symbol
"""

INJECTION_PAYLOADS = (
    "' OR 1=1 --",
    "'; DROP TABLE tickers; --",
    "AAPL'; DELETE FROM prices; --",
    "') OR ('1'='1",
    '" OR ""="',
    "$1",
    "$1::text",
    ":other",
    ":symbol",
    "?1",
    "%s",
    "%(symbol)s",
    "{symbol}",
    "\\",
    "AAPL\\",
    "\\'; SELECT 1; --",
    "\u202eLPAA",
    "AAPL\u202e",
    "'",
    "''",
    '"',
    "`tickers`",
    "AAPL' --",
    "aapl",
    " AAPL",
    "AAPL/*",
    "*/ OR 1=1",
    "1; SELECT pg_sleep(5)",
)


async def table_counts(backend: Backend) -> dict[str, int]:
    """Row count of each demo table, read directly from the database (not through the gateway)."""
    if backend.name == "sqlite":
        path: Path = backend.extra["path"]
        with closing(sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True)) as conn:
            return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in DEMO_TABLES}
    conn = await asyncpg.connect(PG_ADMIN_URL, server_settings={"search_path": str(backend.search_path)})
    try:
        return {t: await conn.fetchval(f"SELECT COUNT(*) FROM {t}") for t in DEMO_TABLES}
    finally:
        await conn.close()


def assert_invalid(response: httpx.Response, *params: str) -> dict[str, Any]:
    """A 422 in the canonical shape listing exactly ``params``."""
    assert response.status_code == 422, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == "invalid_parameter"
    assert body["detail"] == body["error"]
    assert body["request_id"] == response.headers["x-request-id"]
    listed = [e["param"] for e in body["errors"]]
    assert sorted(listed) == sorted(params), body
    for problem in body["errors"]:
        assert problem["message"].startswith(problem["param"]), problem
    return body


@asynccontextmanager
async def running_with_long_urls(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``tests.conftest.running``, but uvicorn buffers request heads up to 1 MiB.

    uvicorn's h11 parser refuses a request head over 16 KiB when it arrives in several TCP reads;
    5,000 multi-select items do not fit in that, so the list test raises the server-layer limit.
    """
    app = create_app(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        h11_max_incomplete_event_size=1 << 20,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during startup")
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await task


# --- 422: every bad param, never a 500 ------------------------------------------------------------


async def test_every_invalid_param_is_listed_in_one_422(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"screen.sql": SCREEN})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        ok = await client.get("/sql/screen", params={"symbol": "AAPL"})
        assert ok.status_code == 200 and len(ok.json()) == 5

        bad = await client.get(
            "/sql/screen",
            params={"day": "2025-02-30", "up": "maybe", "above": "abc", "theme": "dark"},
        )
        body = assert_invalid(bad, "day", "up", "above", "symbol")
        assert all(name in body["error"] for name in ("day", "up", "above", "symbol"))

        beyond_int8 = await client.get(
            "/sql/screen",
            params={"symbol": "AAPL", "above": "9223372036854775808", "day": "yesterday"},
        )
        assert_invalid(beyond_int8, "above", "day")

        injected = await client.get("/sql/screen", params={"symbol": "AAPL", "above": "1 OR 1=1"})
        assert_invalid(injected, "above")

        # Twenty digits are just as far beyond int8 as nineteen.
        twenty_digits = await client.get(
            "/sql/screen", params={"symbol": "AAPL", "above": "99999999999999999999"}
        )
        assert_invalid(twenty_digits, "above")


async def test_a_fractional_limit_value_is_422_naming_the_param_never_500(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"limited.sql": LIMITED})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        assert len((await client.get("/sql/limited", params={"top": "3"})).json()) == 3
        response = await client.get("/sql/limited", params={"top": "2.5"})
        assert response.status_code != 500, response.text
        assert_invalid(response, "top")


async def test_values_that_do_not_fit_the_postgres_column_type_are_422_naming_each_param(
    pg_backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"employees.sql": EMPLOYEES})
    async with running(make_settings(pg_backend, queries_dir=queries)) as client:
        assert (await client.get("/sql/employees", params={"top": "2"})).status_code == 200

        # LIMIT/OFFSET placeholders are known to need whole numbers from the file alone...
        fractional_limit = await client.get("/sql/employees", params={"top": "2.5"})
        assert_invalid(fractional_limit, "top")
        # ...a column's integer type only from the type PostgreSQL infers: checked next.
        fractional = await client.get("/sql/employees", params={"min_employees": "1.5"})
        assert_invalid(fractional, "min_employees")

        int4_overflow = await client.get("/sql/employees", params={"min_employees": "9999999999"})
        assert_invalid(int4_overflow, "min_employees")

        int8_overflow = await client.get("/sql/employees", params={"top": "1e30"})
        assert_invalid(int8_overflow, "top")

        still_fine = await client.get("/sql/employees", params={"top": "2"})
        assert still_fine.status_code == 200 and len(still_fine.json()) == 2


# --- injection payloads are data -------------------------------------------------------------------


async def test_injection_payloads_match_literally_and_change_nothing(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    before = await table_counts(backend)
    assert all(before.values()), before
    queries = write_queries({"lookup.sql": LOOKUP})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        literal = await client.get("/sql/lookup", params={"symbol": "AAPL"})
        assert literal.json() == [{"symbol": "AAPL", "name": "Apple Inc."}]
        for payload in INJECTION_PAYLOADS:
            response = await client.get("/sql/lookup", params={"symbol": payload})
            assert response.status_code == 200, (payload, response.text)
            assert response.json() == [], payload
        # The app still answers normally afterwards.
        assert (await client.get("/sql/lookup", params={"symbol": "MSFT"})).json()[0]["symbol"] == "MSFT"
    assert await table_counts(backend) == before


async def test_injection_payloads_inside_list_items_match_literally(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    before = await table_counts(backend)
    queries = write_queries({"pick.sql": PICK})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        only_aapl = (await client.get("/sql/pick", params={"tickers": "AAPL"})).json()
        payloads = [p for p in INJECTION_PAYLOADS if "," not in p]
        response = await client.get(
            "/sql/pick", params=[("tickers", "AAPL"), *(("tickers", p) for p in payloads)]
        )
        assert response.status_code == 200, response.text
        assert response.json() == only_aapl
    assert await table_counts(backend) == before


ECHO_SAMPLES = (
    *INJECTION_PAYLOADS,
    "plain",
    "  padded both sides  ",
    "tab\tnew\nline\r\nreturn",
    "\x01\x02\x1f\x7f control characters",
    "emoji 🚀📈 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "combining e\u0301 and zero\u200bwidth and bom \ufeff",
    "right-to-left \u202e reversed \u202c back",
    "中文 日本語 한국어 العربية עברית",
    "a,b,c",
    "a&b=c?d#e",
    "100%",
    "%00 literally",
    "+plus+",
    "=",
    "-- comment",
    "/* block */",
    "x" * 1000,
)


def random_texts(count: int, seed: int = 20_250_101) -> list[str]:
    """Seeded random NUL-free, surrogate-free strings across the Unicode planes."""
    rng = random.Random(seed)
    ranges = [(0x01, 0x7F), (0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]
    out = []
    while len(out) < count:
        chars = []
        for _ in range(rng.randint(1, 40)):
            low, high = rng.choice(ranges)
            chars.append(chr(rng.randint(low, high)))
        text = "".join(chars)
        if text.strip():  # blank values mean "not set" (the default applies)
            out.append(text)
    return out


async def test_echo_widget_returns_any_nul_free_text_unchanged(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"echo.sql": ECHO})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        assert (await client.get("/sql/echo")).json() == [{"v": "default"}]
        for text in (*ECHO_SAMPLES, *random_texts(150)):
            response = await client.get("/sql/echo", params={"p": text})
            assert response.status_code == 200, (text, response.text)
            assert response.json() == [{"v": text}], repr(text)


# --- hostile encodings and lengths -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_query",
    [
        pytest.param("p=%00", id="nul"),
        pytest.param("p=abc%00def", id="embedded-nul"),
        pytest.param("p=%ff", id="invalid-utf8-byte"),
        pytest.param("p=ok%c3%28", id="bad-continuation"),
        pytest.param("p=%ed%a0%80", id="encoded-surrogate"),
        pytest.param("p=%c0%af", id="overlong-slash"),
    ],
)
async def test_nul_bytes_and_invalid_utf8_are_422_naming_the_param(
    backend: Backend, write_queries: Callable[..., Path], raw_query: str
) -> None:
    queries = write_queries({"echo.sql": ECHO, "screen.sql": SCREEN})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        response = await client.get(f"/sql/echo?{raw_query}")
        assert_invalid(response, "p")
        value = raw_query.split("=", 1)[1]
        typed = await client.get(f"/sql/screen?symbol=AAPL&above=1{value}&day=2024-01-02{value}")
        assert_invalid(typed, "above", "day")
        assert (await client.get("/sql/echo", params={"p": "still fine"})).json() == [{"v": "still fine"}]


async def test_a_value_longer_than_max_param_length_is_422(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"echo.sql": ECHO, "pick.sql": PICK})
    async with running(make_settings(backend, queries_dir=queries, max_param_length=40)) as client:
        at_limit = "é" * 40  # characters, not bytes
        assert (await client.get("/sql/echo", params={"p": at_limit})).json() == [{"v": at_limit}]
        assert_invalid(await client.get("/sql/echo", params={"p": "é" * 41}), "p")
        assert_invalid(await client.get("/sql/echo", params={"p": "x" * 10_000}), "p")
        assert_invalid(await client.get("/sql/pick", params={"tickers": "AAPL," + "Z" * 41}), "tickers")


# --- multi-select lists ----------------------------------------------------------------------------


async def test_in_lists_of_0_1_and_5000_items_give_the_right_rows(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"pick.sql": PICK})
    real = ["AAPL", "JPM", "KO", "MSFT", "XOM"]
    async with running_with_long_urls(make_settings(backend, queries_dir=queries)) as client:
        assert (await client.get("/sql/pick")).json() == []
        assert (await client.get("/sql/pick", params={"tickers": ""})).json() == []

        one = await client.get("/sql/pick", params={"tickers": "AAPL"})
        assert one.status_code == 200
        [row] = one.json()
        assert row["symbol"] == "AAPL" and row["name"] == "Apple Inc." and row["days"] > 2000

        few = (await client.get("/sql/pick", params={"tickers": ",".join(real)})).json()
        assert [r["symbol"] for r in few] == real

        fake = [f"Q{i:04d}" for i in range(5000 - len(real))]
        items = fake[:2500] + real + fake[2500:]
        assert len(set(items)) == 5000
        many = await client.get("/sql/pick", params={"tickers": ",".join(items)})
        assert many.status_code == 200, many.text[:500]
        assert many.json() == few


async def test_comma_joined_and_repeated_keys_give_identical_bodies(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"pick.sql": PICK})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        joined = await client.get("/sql/pick", params={"tickers": "MSFT,AAPL"})
        repeated = await client.get("/sql/pick", params=[("tickers", "MSFT"), ("tickers", "AAPL")])
        mixed = await client.get("/sql/pick", params=[("tickers", "AAPL,MSFT"), ("tickers", "AAPL")])
        assert joined.status_code == repeated.status_code == mixed.status_code == 200
        assert [r["symbol"] for r in joined.json()] == ["AAPL", "MSFT"]
        assert joined.content == repeated.content == mixed.content


async def test_more_list_items_than_max_list_items_is_422(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries({"pick.sql": PICK})
    async with running(make_settings(backend, queries_dir=queries, max_list_items=10)) as client:
        ten = ["AAPL", *(f"Q{i}" for i in range(9))]
        allowed = await client.get("/sql/pick", params={"tickers": ",".join(ten)})
        assert allowed.status_code == 200 and [r["symbol"] for r in allowed.json()] == ["AAPL"]
        body = assert_invalid(
            await client.get("/sql/pick", params={"tickers": ",".join([*ten, "Q99"])}), "tickers"
        )
        assert "10" in body["errors"][0]["message"]
        repeated = await client.get("/sql/pick", params=[("tickers", t) for t in [*ten, "Q99"]])
        assert_invalid(repeated, "tickers")


async def test_not_in_list_excludes_exactly_the_given_items(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    total = (await table_counts(backend))["tickers"]
    queries = write_queries({"skip.sql": SKIP})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        everything = [r["symbol"] for r in (await client.get("/sql/skip")).json()]
        assert len(everything) == total and "AAPL" in everything
        without = [
            r["symbol"] for r in (await client.get("/sql/skip", params={"skip": "AAPL,MSFT,NOPE"})).json()
        ]
        assert without == [s for s in everything if s not in {"AAPL", "MSFT"}]


async def test_unknown_query_params_are_ignored(backend: Backend, write_queries: Callable[..., Path]) -> None:
    queries = write_queries({"lookup.sql": LOOKUP, "pick.sql": PICK})
    async with running(make_settings(backend, queries_dir=queries)) as client:
        plain = await client.get("/sql/lookup", params={"symbol": "MSFT"})
        noisy = await client.get(
            "/sql/lookup",
            params={
                "symbol": "MSFT",
                "theme": "dark",
                "raw": "true",
                "widgetId": "lookup",
                "anything": "' OR 1=1 --",
                "P": "case matters",
                "symbol_": "x",
            },
        )
        assert plain.status_code == noisy.status_code == 200
        assert noisy.content == plain.content
        listed = await client.get("/sql/pick", params={"tickers": "AAPL", "theme": "light", "raw": "1"})
        assert [r["symbol"] for r in listed.json()] == ["AAPL"]
        demo_like = await client.get("/sql/lookup", params={"theme": "dark"})
        assert demo_like.json() == [{"symbol": "AAPL", "name": "Apple Inc."}]
