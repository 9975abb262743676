"""Every widget kind answers in the shape Workspace reads, on both databases: tables (with column
definitions inferred from the result), Plotly charts (themed, raw), metric tiles, escaped
Markdown and newsfeeds; declared apps link their widgets by a shared param."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import plotly.graph_objects as go

from tests.conftest import Backend, make_settings, running
from tests.openbb_rules import apps_problems, response_problems, widgets_problems


async def test_every_kind_answers_in_its_workspace_shape(client: httpx.AsyncClient) -> None:
    widgets = (await client.get("/widgets.json")).json()
    kinds = {w["type"] for w in widgets.values()}
    assert kinds == {"table", "chart", "metric", "markdown", "newsfeed"}
    for widget_id, widget in widgets.items():
        body = (await client.get(f"/{widget['endpoint']}", params={"theme": "light"})).json()
        assert response_problems(widget, body) == [], widget_id


async def test_charts_are_valid_plotly_figures(client: httpx.AsyncClient) -> None:
    for widget_id in ("price_candles", "compare_prices", "sector_returns_chart"):
        body = (await client.get(f"/sql/{widget_id}")).json()
        go.Figure(body)  # plotly validates every trace and layout attribute
        assert body["data"], widget_id
    candles = (await client.get("/sql/price_candles")).json()
    assert [t["type"] for t in candles["data"]] == ["candlestick", "bar"]
    assert candles["data"][1]["yaxis"] == "y2"  # volume in its own panel
    lines = (await client.get("/sql/compare_prices", params={"tickers": "AAPL,MSFT"})).json()
    assert {t["name"] for t in lines["data"]} == {"AAPL", "MSFT"}  # one trace per series value


async def test_chart_theme_changes_colours_and_is_cached_separately(client: httpx.AsyncClient) -> None:
    dark = await client.get("/sql/sector_returns_chart", params={"theme": "dark"})
    light = await client.get("/sql/sector_returns_chart", params={"theme": "light"})
    dark_layout, light_layout = dark.json()["layout"], light.json()["layout"]
    assert dark_layout["font"]["color"] != light_layout["font"]["color"]
    assert dark_layout["colorway"] != light_layout["colorway"]
    assert dark_layout["paper_bgcolor"] == light_layout["paper_bgcolor"] == "rgba(0,0,0,0)"
    assert dark.json()["data"] == light.json()["data"]
    assert dark.headers["etag"] != light.headers["etag"]


async def test_raw_chart_request_returns_the_rows(client: httpx.AsyncClient) -> None:
    raw = (await client.get("/sql/price_candles", params={"raw": "true"})).json()
    assert isinstance(raw, list)
    assert set(raw[0]) == {"date", "open", "high", "low", "close", "volume"}
    figure = (await client.get("/sql/price_candles")).json()
    assert len(raw) == len(figure["data"][0]["x"])


async def test_metric_tiles_carry_label_value_and_delta(client: httpx.AsyncClient) -> None:
    tiles = (await client.get("/sql/ticker_metrics", params={"ticker": "MSFT"})).json()
    assert [t["label"] for t in tiles] == ["Last close", "High", "Low", "Avg. daily volume"]
    assert all(isinstance(t["value"], int | float) for t in tiles)
    assert "delta" in tiles[0]
    assert "delta" not in tiles[1]
    assert tiles[2]["value"] <= tiles[0]["value"] <= tiles[1]["value"]


async def test_markdown_renders_the_row_and_escapes_values(
    backend: Backend, write_queries: Callable[..., Path]
) -> None:
    queries = write_queries(
        {
            "note.sql": """/*
---
name: Note
type: markdown
params:
  - {paramName: text, type: text, value: plain}
markdown: |
  **Said:** {{ row.said }} / {{ row.n | number }} / {{ params.text }}
---
*/
SELECT :text AS said, 1234567 AS n
"""
        }
    )
    async with running(make_settings(backend, queries)) as client:
        plain = (await client.get("/sql/note")).json()
        assert plain.strip() == "**Said:** plain / 1,234,567 / plain"
        hostile = (
            await client.get("/sql/note", params={"text": "**x** <script>alert(1)</script> [a](b)"})
        ).json()
        assert "<script>" not in hostile
        assert "\\*\\*x\\*\\*" in hostile
        assert "\\[a\\]" in hostile


async def test_company_overview_markdown_names_the_company(client: httpx.AsyncClient) -> None:
    text = (await client.get("/sql/company_overview", params={"ticker": "NVDA"})).json()
    assert text.startswith("### NVIDIA Corporation (NVDA)")
    assert "| Sector | Technology |" in text
    missing = (await client.get("/sql/company_overview", params={"ticker": "NOPE"})).json()
    assert "No company with ticker NOPE" in missing


async def test_newsfeed_articles_have_iso_dates_and_markdown_bodies(client: httpx.AsyncClient) -> None:
    articles = (await client.get("/sql/ticker_news", params={"ticker": "XOM", "stories": "3"})).json()
    assert len(articles) == 3
    assert all(set(a) == {"title", "date", "author", "excerpt", "body"} for a in articles)
    assert all(a["date"].endswith("Z") and "T" in a["date"] for a in articles)
    assert [a["date"] for a in articles] == sorted((a["date"] for a in articles), reverse=True)


async def test_table_sparkline_cells_are_number_arrays_on_both_databases(client: httpx.AsyncClient) -> None:
    rows = (await client.get("/sql/sector_leaders", params={"sector": "Energy"})).json()
    assert {r["symbol"] for r in rows} == {"XOM", "CVX", "COP", "SLB"}
    for row in rows:
        assert isinstance(row["trend"], list)
        assert len(row["trend"]) == 30
        assert row["trend"][-1] == row["last_close"]  # oldest first, latest close last


async def test_table_column_definitions_are_inferred_and_merged(client: httpx.AsyncClient) -> None:
    widgets = (await client.get("/widgets.json")).json()
    movers = {c["field"]: c for c in widgets["top_movers"]["data"]["table"]["columnsDefs"]}
    assert list(movers) == ["symbol", "date", "close", "change"]
    assert movers["date"]["cellDataType"] == "dateString"
    assert movers["close"]["cellDataType"] == "number"
    assert movers["change"]["formatterFn"] == "normalizedPercent"  # the file's key wins
    assert movers["symbol"]["pinned"] == "left"
    leaders = {c["field"]: c for c in widgets["sector_leaders"]["data"]["table"]["columnsDefs"]}
    assert leaders["last_close"]["cellDataType"] == "number"  # inferred under a partial definition
    assert leaders["trend"]["sparkline"] == {"type": "line"}


async def test_declared_app_links_five_widgets_by_ticker(client: httpx.AsyncClient) -> None:
    widgets = (await client.get("/widgets.json")).json()
    apps = (await client.get("/apps.json")).json()
    assert apps_problems(apps, widgets) == []
    research = next(a for a in apps if a["name"] == "Equity research")
    group = research["groups"][0]
    assert group == {
        "name": "Group 1",
        "type": "endpointParam",
        "paramName": "ticker",
        "widgetIds": [
            "price_candles",
            "ticker_metrics",
            "company_overview",
            "ticker_news",
            "quarterly_fundamentals",
        ],
        "defaultValue": "AAPL",
    }
    overview = research["tabs"]["overview"]["layout"]
    assert all(item["groups"] == ["Group 1"] for item in overview)
    assert all(item["state"]["params"]["ticker"] == "AAPL" for item in overview)
    sector_tab = research["tabs"]["sector"]["layout"]
    assert [(i["x"], i["y"]) for i in sector_tab] == [(0, 0), (24, 0), (0, 14)]  # auto-placed
    # The generated Equity app holds only the Equity widgets the declared app does not show.
    generated = next(a for a in apps if a["name"] == "Equity")
    shown = {item["i"] for item in generated["tabs"]["overview"]["layout"]}
    assert shown.isdisjoint(group["widgetIds"])


def test_manifest_rules_hold_for_the_demo_manifest_without_a_database() -> None:
    from gateway.catalog import load_catalog
    from gateway.workspace.apps import build_apps
    from gateway.workspace.widgets import build_widgets
    from tests.conftest import DEMO_QUERIES

    catalog = load_catalog(DEMO_QUERIES, {"default": "sqlite"})
    widgets = build_widgets(catalog)
    assert widgets_problems(widgets) == []
    assert apps_problems(build_apps(catalog), widgets) == []
