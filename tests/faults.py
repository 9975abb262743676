"""Real faults on demand: a TCP proxy between the gateway and PostgreSQL, plus session helpers.

``FaultProxy`` forwards bytes both ways until told otherwise: ``cut()`` drops every connection and
refuses new ones (a database that went away), ``stall()`` keeps connections open but moves no
byte (a network that black-holes), ``restore()`` forwards again. Nothing is mocked: the gateway
talks to PostgreSQL through a real socket the test controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from gateway.http import create_app
from gateway.settings import Settings
from tests.conftest import PG_ADMIN_URL, PG_HOST, PG_PORT, Backend

_CHUNK = 65_536


class FaultProxy:
    def __init__(self, target_host: str = PG_HOST, target_port: int = PG_PORT) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._refusing = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, backend: Backend) -> str:
        """``backend``'s URL with the proxy in place of PostgreSQL."""
        return backend.url.replace(f"{PG_HOST}:{PG_PORT}", f"127.0.0.1:{self.port}")

    def cut(self) -> None:
        """Drop every connection now and refuse (accept, then close) new ones."""
        self._refusing = True
        self._flowing.set()  # stalled pipes wake up and see the closed sockets
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def stall(self) -> None:
        """Keep every connection (and accept new ones) but forward nothing."""
        self._flowing.clear()

    def restore(self) -> None:
        self._refusing = False
        self._flowing.set()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pipes = (self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        for coro in pipes:
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(_CHUNK):
                await self._flowing.wait()
                if self._refusing or writer.transport.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


@contextlib.asynccontextmanager
async def fault_proxy() -> AsyncIterator[FaultProxy]:
    proxy = await FaultProxy().start()
    try:
        yield proxy
    finally:
        await proxy.close()


def marker() -> str:
    """A unique SQL comment: finds this test's statements among every gateway's sessions."""
    return f"gwtest_{uuid.uuid4().hex[:12]}"


async def admin(sql: str, *args: object, search_path: str | None = None) -> list[asyncpg.Record]:
    """Run ``sql`` as the PostgreSQL superuser (outside the gateway)."""
    settings = {"search_path": search_path} if search_path else {}
    conn = await asyncpg.connect(PG_ADMIN_URL, server_settings=settings)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def admin_script(sql: str, *, search_path: str | None = None) -> None:
    """Run several statements as the PostgreSQL superuser."""
    settings = {"search_path": search_path} if search_path else {}
    conn = await asyncpg.connect(PG_ADMIN_URL, server_settings=settings)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def gateway_sessions(tag: str, state: str = "active") -> list[int]:
    """Pids of the gateway's sessions in ``state`` whose (last) statement carries ``tag``."""
    rows = await admin(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'gateway' "
        "AND state = $1 AND query LIKE '%' || $2 || '%' AND pid <> pg_backend_pid()",
        state,
        tag,
    )
    return [row["pid"] for row in rows]


async def wait_until(
    probe: Callable[[], Awaitable[object]], timeout_s: float, interval_s: float = 0.05
) -> bool:
    """Poll ``probe`` until it returns something truthy or ``timeout_s`` has passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        if await probe():
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(interval_s)


# --- error bodies ----------------------------------------------------------------------------------

LEAKS = (
    "SELECT", "select ", " FROM ", "pg_", "Traceback", 'File "', ".sql", "pytest-of", "postgres@",
    "postgresql", "sqlite", "127.0.0.1:5432", "asyncpg", "aiosqlite", "sqlalchemy", "Error:",
)  # fmt: skip
"""Text a client must never see in an error body: SQL, names, DSNs, paths, tracebacks."""


def assert_error(
    response: httpx.Response, status: int, code: str, *, secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """The canonical error body with ``status`` and ``code``, and nothing leaked into it."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    body: dict[str, Any] = response.json()
    assert body["ok"] is False and body["status"] == status and body["code"] == code, body
    assert body["detail"] == body["error"] and isinstance(body["errors"], list), body
    assert body["request_id"] == response.headers["x-request-id"], body
    if status in (503, 429):
        assert int(response.headers["retry-after"]) >= 1
    assert_no_leak(response.text, *secrets)
    return body


def assert_no_leak(text: str, *secrets: str) -> None:
    for leak in (*LEAKS, *secrets):
        assert leak not in text, (leak, text[:500])


# --- a server on its own thread --------------------------------------------------------------------


@contextlib.contextmanager
def threaded_server(settings: Settings) -> Iterator[str]:
    """Serve ``create_app(settings)`` from a thread with its own event loop; yield the base URL.

    For synchronous callers (hypothesis, schemathesis) that would block the test's own loop.
    """
    app = create_app(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="gateway-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the threaded gateway did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# --- leak guard ------------------------------------------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def pg_sockets(pid: int | str = "self", port: int = PG_PORT) -> int:
    """TCP connections of process ``pid`` to PostgreSQL (Linux ``/proc``)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/net/{table}") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[3] == "01" and fields[9] in inodes:  # 01: established
                    count += 1
    return count


@pytest.fixture(scope="module", autouse=True)
def leak_guard() -> Iterator[None]:
    """Import into a DB-heavy test module: once it is done, no connection or descriptor is left."""
    before = open_fds()
    yield
    gc.collect()
    assert pg_sockets() == 0, "a PostgreSQL connection outlived its app"
    assert open_fds() <= before + 8, (before, open_fds())
