"""One backend, teams with different rights: a ``[[keys]]`` key sees only the widgets its ``allow``
globs match (ids or sub-folder paths) in widgets.json, apps.json and openapi.json, a widget outside
its scope answers exactly like one that does not exist, the dropdowns of its widgets keep working,
and flat ``api_keys`` (or a key without ``allow``) see everything."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.errors import ConfigError
from gateway.http import access
from gateway.settings import ScopedKey, load_settings
from tests.conftest import Backend, make_settings, running
from tests.faults import (
    assert_error,
    leak_guard,  # noqa: F401  (autouse: no connection outlives a module)
)

ADMIN, TEAM_A, TEAM_B, TEAM_C, TEAM_D = "k-admin", "k-team-a", "k-team-b", "k-team-c", "k-team-d"
KEYS = (
    ScopedKey("team-a", TEAM_A, ("equity_*",)),
    ScopedKey("team-b", TEAM_B, ("screens/*",)),
    ScopedKey("team-c", TEAM_C, ("macro_rates", "equity_prices")),
    ScopedKey("team-d", TEAM_D),
)


def query(name: str, sql: str, extra: str = "") -> str:
    return f"/*\n---\nname: {name}\n{extra}---\n*/\n{sql}\n"


TICKER = (
    "params:\n  - paramName: ticker\n    type: endpoint\n    optionsQuery: ticker_options\n    value: AAPL\n"
)
SECTOR = "params:\n  - paramName: sector\n    type: endpoint\n    optionsQuery: sector_options\n"
FILES = {
    "equity_prices.sql": query(
        "Prices", "SELECT date, close FROM prices WHERE symbol = :ticker ORDER BY date DESC LIMIT 3", TICKER
    ),
    "equity_news.sql": query("News", "SELECT title FROM news WHERE symbol = :ticker LIMIT 3", TICKER),
    "macro_rates.sql": query("Rates", "SELECT COUNT(*) AS n FROM tickers WHERE sector = :sector", SECTOR),
    "screens/momentum.sql": query("Momentum", "SELECT symbol FROM tickers ORDER BY symbol LIMIT 3"),
    "screens/value.sql": query("Value", "SELECT symbol FROM tickers ORDER BY symbol DESC LIMIT 3"),
    "ticker_options.sql": query(
        "Tickers", "SELECT symbol AS value FROM tickers ORDER BY symbol", "widget: false\n"
    ),
    "sector_options.sql": query("Sectors", "SELECT DISTINCT sector AS value FROM tickers", "widget: false\n"),
    "apps/desk.yaml": """name: Desk
tabs:
  - name: Overview
    layout:
      - {i: equity_prices, w: 20, h: 10}
      - {i: equity_news, w: 20, h: 10}
      - {i: macro_rates, w: 20, h: 10}
groups:
  - paramName: ticker
    widgetIds: [equity_prices, equity_news]
prompts:
  - "Summarise @[id:equity_prices]."
  - "How does @[id:macro_rates] move @[id:equity_news]?"
""",
}
EVERY_WIDGET = {"equity_prices", "equity_news", "macro_rates", "screens_momentum", "screens_value"}


@pytest.fixture
def team_queries(write_queries: Callable[..., Path]) -> Path:
    return write_queries(FILES)


def teams(backend: Backend, queries: Path) -> Any:
    return running(make_settings(backend, queries_dir=queries, api_keys=(ADMIN,), keys=KEYS))


async def get(client: httpx.AsyncClient, path: str, key: str, **params: str) -> httpx.Response:
    return await client.get(path, headers={"X-API-Key": key}, params=params)


async def test_each_key_lists_only_its_widgets_in_widgets_json(
    sqlite_backend: Backend, team_queries: Path
) -> None:
    expected = {
        ADMIN: EVERY_WIDGET,
        TEAM_D: EVERY_WIDGET,
        TEAM_A: {"equity_prices", "equity_news"},
        TEAM_B: {"screens_momentum", "screens_value"},
        TEAM_C: {"equity_prices", "macro_rates"},
    }
    async with teams(sqlite_backend, team_queries) as client:
        full = (await get(client, "/widgets.json", ADMIN)).json()
        for key, widgets in expected.items():
            for _ in range(2):  # the second answer comes from the per-scope memo
                listed = (await get(client, "/widgets.json", key)).json()
                assert set(listed) == widgets, key
                assert all(listed[w] == full[w] for w in widgets)


async def test_apps_json_keeps_only_allowed_widgets_groups_and_prompts(
    sqlite_backend: Backend, team_queries: Path
) -> None:
    async with teams(sqlite_backend, team_queries) as client:
        [desk_a] = [a for a in (await get(client, "/apps.json", TEAM_A)).json() if a["name"] == "Desk"]
        assert [i["i"] for i in desk_a["tabs"]["overview"]["layout"]] == ["equity_prices", "equity_news"]
        assert desk_a["groups"][0]["widgetIds"] == ["equity_prices", "equity_news"]
        assert desk_a["prompts"] == ["Summarise @[id:equity_prices]."]

        apps_c = (await get(client, "/apps.json", TEAM_C)).json()
        [desk_c] = [a for a in apps_c if a["name"] == "Desk"]
        layout = desk_c["tabs"]["overview"]["layout"]
        assert [i["i"] for i in layout] == ["equity_prices", "macro_rates"]
        assert desk_c["groups"] == [] and all("groups" not in item for item in layout)

        names_b = [a["name"] for a in (await get(client, "/apps.json", TEAM_B)).json()]
        assert "Desk" not in names_b and names_b
        listed = {i["i"] for a in (await get(client, "/templates.json", TEAM_B)).json()
                  for t in a["tabs"].values() for i in t["layout"]}  # fmt: skip
        assert listed == {"screens_momentum", "screens_value"}


async def test_a_widget_outside_the_scope_answers_exactly_like_an_unknown_one(
    backend: Backend, team_queries: Path
) -> None:
    async with teams(backend, team_queries) as client:
        assert (await get(client, "/sql/screens_value", TEAM_B)).status_code == 200
        for path in ("/sql/equity_prices", "/sql/no_such_widget", "/options/ticker_options", "/options/nope"):
            response = await get(client, path, TEAM_B)
            body = assert_error(response, 404, "unknown_widget", secrets=(TEAM_B,))
            unknown = "/sql/no_such" if path.startswith("/sql") else "/options/no_such"
            twin = assert_error(await get(client, unknown, TEAM_B), 404, "unknown_widget")
            assert body["error"].split("'")[0] == twin["error"].split("'")[0]
        assert (await get(client, "/sql/equity_prices", TEAM_A, ticker="MSFT")).status_code == 200
        assert_error(await get(client, "/sql/macro_rates", TEAM_A), 404, "unknown_widget")


async def test_dropdowns_of_allowed_widgets_stay_reachable(
    sqlite_backend: Backend, team_queries: Path
) -> None:
    async with teams(sqlite_backend, team_queries) as client:
        assert (await get(client, "/options/ticker_options", TEAM_A)).status_code == 200
        assert_error(await get(client, "/options/sector_options", TEAM_A), 404, "unknown_widget")
        assert (await get(client, "/options/sector_options", TEAM_C)).status_code == 200
        assert (await get(client, "/options/ticker_options", TEAM_C)).status_code == 200
        for key in (ADMIN, TEAM_D):
            assert (await get(client, "/options/sector_options", key)).status_code == 200


async def test_openapi_json_documents_only_the_routes_of_the_key(
    sqlite_backend: Backend, team_queries: Path
) -> None:
    async with teams(sqlite_backend, team_queries) as client:
        paths = set((await get(client, "/openapi.json", TEAM_A)).json()["paths"])
        data = {p for p in paths if p.startswith(("/sql/", "/options/"))}
        assert data == {"/sql/equity_prices", "/sql/equity_news", "/options/ticker_options"}
        every = set((await get(client, "/openapi.json", ADMIN)).json()["paths"])
        assert {f"/sql/{w}" for w in EVERY_WIDGET} <= every
        assert_error(await client.get("/openapi.json"), 401, "unauthorized")


async def test_scoped_keys_never_reach_logs_or_error_bodies(
    sqlite_backend: Backend, team_queries: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with teams(sqlite_backend, team_queries) as client:
        for key in (TEAM_A, TEAM_B, TEAM_C):
            for path in ("/sql/equity_prices", "/sql/screens_value", "/options/sector_options", "/nope"):
                response = await client.get(path, params={"api_key": key, "ticker": "bad\x00"})
                assert response.status_code in (200, 404, 422), response.text
                assert key not in response.text
        assert_error(await client.get("/widgets.json", params={"api_key": "k-team-z"}), 401, "unauthorized")
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert any("api_key=***" in line for line in server_side)
    for key in (ADMIN, TEAM_A, TEAM_B, TEAM_C, TEAM_D, "k-team-z"):
        assert not any(key in line for line in server_side), key


def test_a_key_is_compared_with_every_configured_key_whatever_its_scope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = access.KeyTable([ADMIN], KEYS)
    calls: list[bytes] = []
    real = hmac.compare_digest

    def spy(given: bytes, key: bytes) -> bool:
        calls.append(key)
        return real(given, key)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module access.py calls through
    for given, scope in ((ADMIN, "*"), (TEAM_A, "team-a"), (TEAM_D, "team-d"), ("nope", None)):
        calls.clear()
        found = table.resolve(given.encode())
        assert (found.name if found else None) == scope
        assert len(calls) == 1 + len(KEYS)


# --- gateway.toml ----------------------------------------------------------------------------------

TOML = """
api_keys = ["k-admin"]

[[keys]]
key = { env = "TEAM_A_KEY" }
name = "team-a"
allow = ["equity_*", "screens/*"]

[[keys]]
key = "k-everything"
name = "team-b"
"""


def test_keys_tables_are_read_from_gateway_toml_with_secret_references(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(TOML, encoding="utf-8")
    settings = load_settings(config, env={"TEAM_A_KEY": "k-secret-a"})
    assert settings.api_keys == ("k-admin",)
    assert settings.keys == (
        ScopedKey("team-a", "k-secret-a", ("equity_*", "screens/*")),
        ScopedKey("team-b", "k-everything", None),
    )
    assert "k-secret-a" not in repr(settings.keys)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[[keys]]\nkey = "k1"\n', "name must be"),
        ('[[keys]]\nname = "x"\n', "key must be"),
        ('[[keys]]\nkey = "k1"\nname = "x"\nallow = "equity_*"\n', "allow must be a list"),
        ('[[keys]]\nkey = "k1"\nname = "x"\nscope = ["a"]\n', "unknown key"),
        ('[[keys]]\nkey = { env = "MISSING" }\nname = "x"\n', "MISSING is not set"),
        ('[[keys]]\nkey = "k1"\nname = "x"\n[[keys]]\nkey = "k1"\nname = "y"\n', "configured twice"),
        ('api_keys = ["k1"]\n[[keys]]\nkey = "k1"\nname = "x"\n', "configured twice"),
        ('[[keys]]\nkey = "k1"\nname = "x"\n[[keys]]\nkey = "k2"\nname = "x"\n', "same name"),
        ('keys = "k1"\n', "[[keys]] tables"),
    ],
)
def test_invalid_keys_tables_are_refused_with_a_clear_message(
    tmp_path: Path, table: str, message: str
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(table, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(config, env={})


def test_keys_cannot_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no gateway.toml around
    with pytest.raises(ConfigError, match="keys"):
        load_settings(None, env={"GATEWAY_KEYS": "k1"})
