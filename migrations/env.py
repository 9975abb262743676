"""Alembic environment for the demo schema (SQLite and PostgreSQL).

The gateway passes an open connection in ``config.attributes["connection"]``; run by hand,
the URL comes from ``GATEWAY_DATABASE`` (plain ``postgresql://`` / ``sqlite:///`` accepted).
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.settings import normalize_database_url

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    engine = create_async_engine(normalize_database_url(url))
    async with engine.begin() as conn:
        await conn.run_sync(run_on)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported for the demo schema")

shared = config.attributes.get("connection")
if shared is not None:
    run_on(shared)
else:
    url = os.environ.get("GATEWAY_DATABASE") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set GATEWAY_DATABASE to the database URL to migrate")
    asyncio.run(run_from_url(url))
