"""With ``reload`` on, editing the queries folder of a running server changes what it serves, as
a whole and only when every file is valid: a changed widget answers from its new SQL and its old
cached responses are dropped (untouched widgets keep theirs), a removed widget is gone, an edit
under ``apps/`` changes apps.json, and a broken edit (or a reserved param name) keeps the last good
version serving while the log names the file and line.

Real server (uvicorn), real files edited on disk, the app's own 1 s polling watcher.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from gateway.cache import MemoryStore
from gateway.http.reload import snapshot
from tests.conftest import Backend, make_settings, running

WAIT_S = 20.0  # generous: the watcher polls every second; a slow machine must not fail the test


def widget(value: int, *, name: str = "Reloaded") -> str:
    return f"/*\n---\nname: {name}\nstaleTime: 600000\n---\n*/\nSELECT {value} AS n\n"


BROKEN = "/*\n---\nname: Broken\n---\n*/\nSELECT n\nFROM t\nWHERE x = :undeclared\n"
RESERVED = (
    "/*\n---\nname: Reserved\nparams:\n  - paramName: api_key\n    type: text\n    value: x\n---\n*/\n"
    "SELECT :api_key AS k\n"
)
APP = "name: {name}\ntabs:\n  - name: One\n    layout:\n      - {{i: first, x: 0, y: 0, w: 20, h: 10}}\n"


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait until ``check()`` is true (the watcher picked the change up), or fail naming ``what``."""
    deadline = time.monotonic() + WAIT_S
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"not seen within {WAIT_S} s: {what}")
        await asyncio.sleep(0.1)


async def body(client: httpx.AsyncClient, path: str) -> object:
    response = await client.get(path)
    return response.json() if response.status_code == 200 else response.status_code


def memory_store(client: httpx.AsyncClient) -> MemoryStore:
    store = client.app.state.gateway.cache.store  # type: ignore[attr-defined]
    assert isinstance(store, MemoryStore)
    return store


@pytest.fixture
def folder(write_queries: Callable[..., Path]) -> Path:
    return write_queries({"first.sql": widget(1), "second.sql": widget(10, name="Second")})


async def test_edited_widget_serves_its_new_sql_and_its_old_cached_responses_are_dropped(
    backend: Backend, folder: Path
) -> None:
    settings = make_settings(backend, folder, reload=True, cache_admission="always")
    async with running(settings) as client:
        assert await body(client, "/sql/first") == [{"n": 1}]
        assert await body(client, "/sql/second") == [{"n": 10}]
        assert len(memory_store(client)) == 2

        (folder / "first.sql").write_text(widget(2), encoding="utf-8")

        async def first_is_new() -> bool:
            return await body(client, "/sql/first") == [{"n": 2}]

        await eventually(first_is_new, "the edited first.sql served")
        # The new body of `first` and the untouched `second`: the old body of `first` is gone.
        assert len(memory_store(client)) == 2
        untouched = await client.get("/sql/second")
        assert untouched.headers["x-cache"] == "HIT"
        assert untouched.json() == [{"n": 10}]


async def test_removed_widget_is_gone_with_its_cached_responses(
    sqlite_backend: Backend, folder: Path
) -> None:
    settings = make_settings(sqlite_backend, folder, reload=True, cache_admission="always")
    async with running(settings) as client:
        assert await body(client, "/sql/second") == [{"n": 10}]
        assert len(memory_store(client)) == 1

        (folder / "second.sql").unlink()

        async def gone() -> bool:
            return await body(client, "/sql/second") == 404

        await eventually(gone, "second.sql removed")
        assert len(memory_store(client)) == 0
        assert "second" not in (await client.get("/widgets.json")).json()


async def test_broken_edit_keeps_the_last_good_version_and_logs_path_and_line(
    sqlite_backend: Backend, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="gateway.reload")
    async with running(make_settings(sqlite_backend, folder, reload=True)) as client:
        assert await body(client, "/sql/first") == [{"n": 1}]

        broken = folder / "first.sql"
        broken.write_text(BROKEN, encoding="utf-8")

        async def rejected() -> bool:
            return any("reload rejected" in r.getMessage() for r in caplog.records)

        await eventually(rejected, "the broken edit rejected in the log")
        message = next(r.getMessage() for r in caplog.records if "reload rejected" in r.getMessage())
        line = BROKEN.splitlines().index("WHERE x = :undeclared") + 1
        assert f"{broken}:{line}: " in message and "undeclared" in message
        assert await body(client, "/sql/first") == [{"n": 1}]  # the last good version still serves

        broken.write_text(widget(3), encoding="utf-8")  # fixed: the next valid edit is taken

        async def fixed() -> bool:
            return await body(client, "/sql/first") == [{"n": 3}]

        await eventually(fixed, "the fixed file swapped in")


async def test_reserved_param_name_is_refused_on_reload_as_at_startup(
    sqlite_backend: Backend, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="gateway.reload")
    async with running(make_settings(sqlite_backend, folder, reload=True)) as client:
        (folder / "reserved.sql").write_text(RESERVED, encoding="utf-8")

        async def rejected() -> bool:
            return any("reserved" in r.getMessage() for r in caplog.records)

        await eventually(rejected, "the reserved param name rejected")
        assert await body(client, "/sql/reserved") == 404


async def test_edit_under_apps_changes_apps_json(sqlite_backend: Backend, folder: Path) -> None:
    apps = folder / "apps"
    apps.mkdir()
    (apps / "mine.yaml").write_text(APP.format(name="Mine"), encoding="utf-8")
    async with running(make_settings(sqlite_backend, folder, reload=True)) as client:
        assert "Mine" in {app["name"] for app in (await client.get("/apps.json")).json()}

        (apps / "mine.yaml").write_text(APP.format(name="Mine, renamed"), encoding="utf-8")

        async def renamed() -> bool:
            names = {app["name"] for app in (await client.get("/apps.json")).json()}
            return "Mine, renamed" in names

        await eventually(renamed, "the apps/ edit in apps.json")


def test_snapshot_ignores_hidden_and_backup_files(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("x")
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "b.yaml").write_text("x")
    for hidden in (".a.sql.swp", "a.sql~", ".git/index"):
        (tmp_path / hidden).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / hidden).write_text("x")

    assert set(snapshot(tmp_path)) == {tmp_path / "a.sql", tmp_path / "apps" / "b.yaml"}
