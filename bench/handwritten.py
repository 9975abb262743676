"""The baseline: the same queries as careful hand-written Litestar + asyncpg + msgspec endpoints.

Written as an expert would write it for production: one asyncpg pool, typed query parameters,
rows encoded through msgspec Structs (no per-row dicts, no pandas).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import asyncpg
import msgspec
from litestar import Litestar, Response, get

DSN = os.environ.get("BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/gw_bench")
POOL: dict[str, asyncpg.Pool] = {}
ENCODER = msgspec.json.Encoder()


class Bar(msgspec.Struct, gc=False):
    date: date
    open: float
    high: float
    low: float
    close: float
    volume: int


class SymbolBar(msgspec.Struct, gc=False):
    symbol: str
    date: date
    open: float
    high: float
    low: float
    close: float
    volume: int


BARS = (
    "SELECT date, open, high, low, close, volume FROM bars "
    "WHERE symbol = $1 AND date BETWEEN $2 AND $3 ORDER BY date"
)
HISTORY = "SELECT date, open, high, low, close, volume FROM bars WHERE symbol = $1 ORDER BY date"
CROSS = (
    "SELECT symbol, date, open, high, low, close, volume FROM bars "
    "WHERE date BETWEEN $1 AND $2 ORDER BY symbol, date"
)


def _json(body: bytes) -> Response[bytes]:
    return Response(content=body, media_type="application/json")


@get("/bars")
async def bars(ticker: str, start: date, end: date) -> Response[bytes]:
    rows = await POOL["pg"].fetch(BARS, ticker, start, end)
    return _json(ENCODER.encode([Bar(*r) for r in rows]))


@get("/history")
async def history(ticker: str) -> Response[bytes]:
    rows = await POOL["pg"].fetch(HISTORY, ticker)
    return _json(ENCODER.encode([Bar(*r) for r in rows]))


@get("/cross_section")
async def cross_section(start: date, end: date) -> Response[bytes]:
    rows = await POOL["pg"].fetch(CROSS, start, end)
    return _json(ENCODER.encode([SymbolBar(*r) for r in rows]))


@get("/health")
async def health() -> Response[bytes]:
    return _json(b'{"status":"ok"}')


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    POOL["pg"] = await asyncpg.create_pool(DSN, min_size=5, max_size=5)
    try:
        yield
    finally:
        await POOL.pop("pg").close()


app = Litestar([bars, history, cross_section, health], lifespan=[lifespan], logging_config=None)
