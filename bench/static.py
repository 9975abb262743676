"""The HTTP ceiling: a pre-encoded body (one ticker-year of bars) served by the same stack."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import msgspec
from litestar import Litestar, Response, get

from bench.handwritten import BARS, Bar

DSN = os.environ.get("BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/gw_bench")


async def _body() -> bytes:
    from datetime import date

    conn = await asyncpg.connect(DSN)
    try:
        rows = await conn.fetch(BARS, "T0001", date(2024, 1, 1), date(2024, 12, 31))
    finally:
        await conn.close()
    return msgspec.json.encode([Bar(*r) for r in rows])


BODY = asyncio.run(_body())


@get(["/static", "/sql/bars", "/bars", "/health"])
async def static() -> Response[bytes]:
    return Response(content=BODY, media_type="application/json")


app = Litestar([static], logging_config=None)
