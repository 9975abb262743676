"""The demo catalog is a working Workspace backend on both databases: the manifests follow
OpenBB's rules, and every widget and options endpoint answers with JSON-native data."""

from __future__ import annotations

import httpx
import pytest

from tests.openbb_rules import apps_problems, response_problems, widgets_problems

pytestmark = pytest.mark.asyncio


async def test_widgets_json_follows_workspace_rules(client: httpx.AsyncClient) -> None:
    response = await client.get("/widgets.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    widgets = response.json()
    assert widgets_problems(widgets) == []
    assert len(widgets) >= 8
    assert "ticker_options" not in widgets  # options-only queries are not widgets
    assert all(w["endpoint"] == f"sql/{wid}" for wid, w in widgets.items())


async def test_query_filled_dropdown_points_at_an_options_endpoint(
    client: httpx.AsyncClient,
) -> None:
    widgets = (await client.get("/widgets.json")).json()
    ticker = next(p for p in widgets["daily_prices"]["params"] if p["paramName"] == "ticker")
    assert ticker == {
        "paramName": "ticker",
        "type": "endpoint",
        "label": "Ticker",
        "description": "Company ticker",
        "value": "AAPL",
        "optionsEndpoint": "options/ticker_options",
    }
    cascading = next(p for p in widgets["sector_tickers"]["params"] if p["paramName"] == "ticker")
    assert cascading["optionsParams"] == {"sector": "$sector"}


async def test_apps_json_and_templates_json_serve_the_same_valid_apps(
    client: httpx.AsyncClient,
) -> None:
    widgets = (await client.get("/widgets.json")).json()
    apps = (await client.get("/apps.json")).json()
    assert (await client.get("/templates.json")).json() == apps
    assert apps_problems(apps, widgets) == []
    placed = [item["i"] for app in apps for tab in app["tabs"].values() for item in tab["layout"]]
    assert set(placed) == set(widgets)  # every widget is reachable from some app
    assert len(placed) == len(set(placed))  # generated apps skip widgets a declared app shows
    assert {"Equity research", "Equity", "Screens"} <= {a["name"] for a in apps}
    equity = next(a for a in apps if a["name"] == "Equity")
    ticker_group = next(g for g in equity["groups"] if g["paramName"] == "ticker")
    assert ticker_group["type"] == "endpointParam"
    assert len(ticker_group["widgetIds"]) >= 3


async def test_every_demo_widget_answers_with_its_defaults(client: httpx.AsyncClient) -> None:
    widgets = (await client.get("/widgets.json")).json()
    for widget_id, widget in widgets.items():
        response = await client.get(f"/{widget['endpoint']}")
        assert response.status_code == 200, (widget_id, response.text)
        body = response.json()
        assert response_problems(widget, body) == [], widget_id
        assert body, f"{widget_id} returned no rows with its defaults"
        if widget["type"] == "table":
            assert int(response.headers["x-gateway-rows"]) == len(body)


async def test_rows_are_json_native(client: httpx.AsyncClient) -> None:
    prices = (await client.get("/sql/daily_prices")).json()
    first = prices[0]
    assert isinstance(first["close"], float) and isinstance(first["volume"], int)
    assert isinstance(first["date"], str) and len(first["date"]) == 10
    fundamentals = (await client.get("/sql/quarterly_fundamentals")).json()
    # NUMERIC/Decimal columns are JSON numbers, not strings.
    assert all(isinstance(row["revenue"], int | float) for row in fundamentals)
    assert all(isinstance(row["eps"], int | float) for row in fundamentals)
    news = (await client.get("/sql/company_news")).json()
    assert all(row["published_at"].endswith("Z") for row in news)


async def test_options_endpoint_returns_label_value_objects(client: httpx.AsyncClient) -> None:
    options = (await client.get("/options/ticker_options")).json()
    assert len(options) > 40
    assert all(set(o) <= {"label", "value", "extraInfo"} and "label" in o for o in options)
    assert {
        "label": "AAPL - Apple Inc.",
        "value": "AAPL",
        "extraInfo": {"description": "Technology"},
    } in options


async def test_cascading_options_follow_the_parent_param(client: httpx.AsyncClient) -> None:
    energy = (await client.get("/options/ticker_options", params={"sector": "Energy"})).json()
    assert {o["value"] for o in energy} == {"XOM", "CVX", "COP", "SLB"}
    everything = (await client.get("/options/ticker_options", params={"sector": ""})).json()
    assert len(everything) > len(energy)


async def test_relative_date_defaults_resolve_at_request_time(client: httpx.AsyncClient) -> None:
    rows = (await client.get("/sql/daily_prices")).json()
    explicit = (
        await client.get("/sql/daily_prices", params={"start": rows[0]["date"], "end": rows[-1]["date"]})
    ).json()
    assert rows == explicit
    assert 240 <= len(rows) <= 265  # one year of business days


async def test_params_change_the_result(client: httpx.AsyncClient) -> None:
    aapl = (await client.get("/sql/company_profile", params={"ticker": "AAPL"})).json()
    msft = (await client.get("/sql/company_profile", params={"ticker": "MSFT"})).json()
    assert aapl[0]["name"] == "Apple Inc." and msft[0]["name"] == "Microsoft Corporation"
    top3 = (await client.get("/sql/top_movers", params={"top": "3"})).json()
    losers = (await client.get("/sql/top_movers", params={"top": "3", "gainers": "false"})).json()
    assert len(top3) == 3 and len(losers) == 3
    assert top3[0]["change"] >= top3[-1]["change"] > losers[-1]["change"] >= losers[0]["change"]


async def test_unknown_widget_is_404_with_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/sql/no_such_widget")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "unknown_widget" and body["error"] == body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["databases"] == {"default": "ok"}


async def test_the_index_lists_endpoints_that_all_answer(client: httpx.AsyncClient) -> None:
    index = (await client.get("/")).json()
    assert index["widgets"] == len((await client.get("/widgets.json")).json())
    assert "/openapi.json" in index["endpoints"]
    for path in index["endpoints"]:
        if "{" not in path:
            assert (await client.get(path)).status_code == 200, path
