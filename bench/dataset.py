"""The benchmark dataset: 500 tickers x 10 years of daily bars (~1.26M rows), seeded.

Created once in its own PostgreSQL database (``gw_bench``) and reused while its row count and
seed match.
"""

from __future__ import annotations

import asyncio
import math
import random
from datetime import date, timedelta

import asyncpg

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "gw_bench"
BENCH_URL = f"postgresql://postgres@127.0.0.1:5432/{BENCH_DB}"
TICKERS = 500
SEED = 7
END = date(2025, 12, 31)


def trading_days() -> list[date]:
    days, day = [], date(END.year - 10, 1, 1)
    while day <= END:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days[-2520:]


def symbols() -> list[str]:
    return [f"T{i:04d}" for i in range(TICKERS)]


def _rows(symbol: str, days: list[date]) -> list[tuple[object, ...]]:
    rng = random.Random(f"{SEED}:{symbol}")
    close, out = rng.uniform(10, 300), []
    for day in days:
        prev, close = close, max(1.0, close * math.exp(rng.gauss(0.0003, 0.02)))
        high, low = max(prev, close) * 1.01, min(prev, close) * 0.99
        out.append(
            (
                symbol,
                day,
                round(prev, 4),
                round(high, 4),
                round(low, 4),
                round(close, 4),
                rng.randint(100_000, 10_000_000),
            )
        )
    return out


async def ensure_dataset() -> int:
    """Create and fill the benchmark database unless it is already complete; return its rows."""
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BENCH_DB):
            await admin.execute(f"CREATE DATABASE {BENCH_DB}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(BENCH_URL)
    try:
        days = trading_days()
        expected = TICKERS * len(days)
        exists = await conn.fetchval("SELECT to_regclass('public.bars') IS NOT NULL")
        if exists and await conn.fetchval("SELECT count(*) FROM bars") == expected:
            return expected
        await conn.execute("DROP TABLE IF EXISTS bars")
        await conn.execute("""
            CREATE TABLE bars (
                symbol text NOT NULL, date date NOT NULL,
                open double precision NOT NULL, high double precision NOT NULL,
                low double precision NOT NULL, close double precision NOT NULL,
                volume bigint NOT NULL, PRIMARY KEY (symbol, date))""")
        for symbol in symbols():
            await conn.copy_records_to_table("bars", records=_rows(symbol, days))
        await conn.execute("CREATE INDEX bars_date ON bars (date)")
        await conn.execute("VACUUM ANALYZE bars")
        return expected
    finally:
        await conn.close()


if __name__ == "__main__":
    print(asyncio.run(ensure_dataset()), "rows")
