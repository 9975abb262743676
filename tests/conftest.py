"""Shared fixtures: one demo database per backend per session, real HTTP through uvicorn.

Every integration test runs twice, on SQLite (a real file) and on the real PostgreSQL at
127.0.0.1:5432 (database ``test``, one schema per session). Without PostgreSQL the postgres half
skips locally but fails under ``CI=true``: the suite never goes green by testing less.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import uvicorn
from litestar import Litestar

from gateway.demo.build import build_demo, bundled_path
from gateway.http import create_app
from gateway.settings import DatabaseSettings, Settings

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_URL = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DEMO_QUERIES = bundled_path("queries")
TODAY = date.today()


def service_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip without the service locally; fail under CI, where it must be there."""
    if service_answers(host, port):
        return
    message = f"{name} is not answering on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: required)")
    pytest.skip(message)


@dataclass(frozen=True)
class Backend:
    """A database holding the demo schema, as the gateway sees it."""

    name: str
    url: str
    search_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def database(self, name: str = "default", **overrides: Any) -> DatabaseSettings:
        return DatabaseSettings(name=name, url=self.url, search_path=self.search_path, **overrides)


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    path = tmp_path_factory.mktemp("sqlite") / "demo.sqlite"
    asyncio.run(build_demo(f"sqlite:///{path}", as_of=TODAY))
    return Backend("sqlite", f"sqlite+aiosqlite:///{path}", extra={"path": path})


@pytest.fixture(scope="session")
def pg_backend() -> Iterator[Backend]:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    schema = f"gw_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_execute(f"CREATE SCHEMA {schema}"))
    try:
        asyncio.run(build_demo(PG_ADMIN_URL, as_of=TODAY, search_path=schema))
        yield Backend(
            "postgres", "postgresql+asyncpg" + PG_ADMIN_URL[len("postgresql") :], search_path=schema
        )
    finally:
        asyncio.run(_pg_execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


async def _pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each test using this runs on both databases."""
    fixture: Backend = request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_backend")
    return fixture


def make_settings(backend: Backend, queries_dir: Path = DEMO_QUERIES, **overrides: Any) -> Settings:
    databases = overrides.pop("databases", None) or {"default": backend.database()}
    return Settings(queries_dir=queries_dir, databases=databases, **overrides)


@asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a free loopback port; yield its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during startup")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def running(settings: Settings, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client talking real HTTP to a gateway built from ``settings``."""
    app = create_app(settings, **kwargs)
    async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest_asyncio.fixture
async def client(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    """The demo queries served from ``backend``, no API key."""
    async with running(make_settings(backend)) as http:
        yield http


@pytest.fixture
def write_queries(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{"name.sql": text}`` into a fresh queries folder and return it."""

    def _write(files: dict[str, str], folder: str = "queries") -> Path:
        root = tmp_path / folder
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return root

    return _write
