"""With API keys set, every path but liveness needs a valid key (401 before any routing, so unknown
widgets cannot be enumerated), while CORS preflights from OpenBB origins pass without one; the key is
compared in constant time against every configured key and never shows in logs or error bodies."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from gateway.http import access
from tests.conftest import Backend, make_settings, running

WORKSPACE = "https://pro.openbb.co"
KEYS = ("k1", "k2")
DATA_PATHS = ("/widgets.json", "/apps.json", "/sql/daily_prices", "/options/ticker_options", "/ready")
OTHER_ORIGINS = ("https://evil.example", "https://pro.openbb.co.evil.example", "http://pro.openbb.co", "null")
PROTECTED = (
    "/widgets.json",
    "/apps.json",
    "/templates.json",
    "/sql/daily_prices",
    "/options/ticker_options",
    "/ready",
    "/health/ready",
    "/",
    "/sql/no_such_widget",
    "/options/no_such_query",
    "/no/such/path",
)


def assert_unauthorized(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 401, (response.request.url, response.text)
    assert response.headers["www-authenticate"]
    body: dict[str, Any] = response.json()
    assert body["code"] == "unauthorized"
    assert body["detail"] == body["error"]
    assert body["errors"] == []
    return body


def preflight_headers(origin: str = WORKSPACE, **extra: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-api-key",
        **extra,
    }


def header_items(response: httpx.Response, name: str) -> set[str]:
    """Comma-separated values of a (possibly repeated) header, lower-cased."""
    return {
        item.strip().lower()
        for value in response.headers.get_list(name)
        for item in value.split(",")
        if item.strip()
    }


async def test_a_missing_or_wrong_key_is_401_on_every_protected_path(backend: Backend) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        for path in PROTECTED:
            assert_unauthorized(await client.get(path))
            assert_unauthorized(await client.get(path, headers={"X-API-Key": "k3"}))
            assert_unauthorized(await client.get(path, params={"api_key": "k1 "}))
            assert_unauthorized(await client.get(path, headers={"X-API-Key": ""}))


async def test_an_unknown_widget_without_a_key_is_401_and_with_a_key_404(backend: Backend) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        assert_unauthorized(await client.get("/sql/no_such_widget"))
        found = await client.get("/sql/no_such_widget", headers={"X-API-Key": "k1"})
        assert found.status_code == 404 and found.json()["code"] == "unknown_widget"


async def test_a_valid_key_in_the_header_or_the_query_param_is_accepted(backend: Backend) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        for key in KEYS:
            for path in (
                "/widgets.json",
                "/apps.json",
                "/sql/daily_prices",
                "/options/ticker_options",
                "/ready",
            ):
                by_header = await client.get(path, headers={"X-API-Key": key})
                assert by_header.status_code == 200, (path, by_header.text)
                by_query = await client.get(path, params={"api_key": key})
                assert by_query.status_code == 200, (path, by_query.text)
                assert by_query.content == by_header.content or path == "/ready"
        # The header name is case-insensitive, as every HTTP header.
        assert (await client.get("/widgets.json", headers={"x-api-key": "k2"})).status_code == 200


async def test_the_key_header_and_query_param_names_are_configurable(backend: Backend) -> None:
    settings = make_settings(
        backend, api_keys=KEYS, api_key_header="X-Gateway-Token", api_key_query_param="token"
    )
    async with running(settings) as client:
        assert (await client.get("/sql/daily_prices", headers={"X-Gateway-Token": "k1"})).status_code == 200
        assert (await client.get("/sql/daily_prices", params={"token": "k2"})).status_code == 200
        assert_unauthorized(await client.get("/sql/daily_prices", headers={"X-API-Key": "k1"}))
        assert_unauthorized(await client.get("/sql/daily_prices", params={"api_key": "k1"}))
        preflight = await client.options(
            "/sql/daily_prices",
            headers=preflight_headers(**{"Access-Control-Request-Headers": "x-gateway-token"}),
        )
        assert preflight.status_code == 204
        assert "x-gateway-token" in header_items(preflight, "access-control-allow-headers")


async def test_liveness_needs_no_key(backend: Backend) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        for path in ("/health", "/health/live"):
            response = await client.get(path)
            assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_a_workspace_preflight_needs_no_key_and_allows_the_key_header(backend: Backend) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        for path in ("/sql/daily_prices", "/widgets.json", "/sql/no_such_widget"):
            response = await client.options(path, headers=preflight_headers())
            assert response.status_code == 204, (path, response.text)
            assert response.headers["access-control-allow-origin"] == WORKSPACE
            assert "origin" in header_items(response, "vary")
            assert "x-api-key" in header_items(response, "access-control-allow-headers")
            assert "get" in header_items(response, "access-control-allow-methods")
            assert "access-control-allow-private-network" not in response.headers


async def test_a_private_network_preflight_is_allowed(backend: Backend) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        response = await client.options(
            "/sql/daily_prices",
            headers=preflight_headers(**{"Access-Control-Request-Private-Network": "true"}),
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-private-network"] == "true"
        assert response.headers["access-control-allow-origin"] == WORKSPACE


async def test_a_preflight_from_another_origin_is_400_without_cors_headers(backend: Backend) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        for origin in (
            "https://evil.example",
            "https://pro.openbb.co.evil.example",
            "http://pro.openbb.co",
            "null",
        ):
            response = await client.options(
                "/sql/daily_prices",
                headers=preflight_headers(origin, **{"Access-Control-Request-Private-Network": "true"}),
            )
            assert response.status_code == 400, origin
            assert "access-control-allow-origin" not in response.headers
            assert "access-control-allow-private-network" not in response.headers
            assert "access-control-allow-headers" not in response.headers


async def test_a_workspace_origin_gets_acao_on_success_and_on_401(backend: Backend) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        ok = await client.get("/sql/daily_prices", headers={"Origin": WORKSPACE, "X-API-Key": "k1"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == WORKSPACE
        assert "origin" in header_items(ok, "vary")
        denied = await client.get("/sql/daily_prices", headers={"Origin": WORKSPACE})
        assert_unauthorized(denied)
        assert denied.headers["access-control-allow-origin"] == WORKSPACE
        missing = await client.get("/sql/no_such_widget", headers={"Origin": WORKSPACE, "X-API-Key": "k1"})
        assert missing.status_code == 404
        assert missing.headers["access-control-allow-origin"] == WORKSPACE


async def test_another_origin_gets_data_only_with_a_key_and_never_acao(backend: Backend) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        other = {"Origin": "https://evil.example"}
        denied = await client.get("/sql/daily_prices", headers=other)
        assert_unauthorized(denied)
        assert "access-control-allow-origin" not in denied.headers
        ok = await client.get("/sql/daily_prices", headers={**other, "X-API-Key": "k1"})
        assert ok.status_code == 200
        assert "access-control-allow-origin" not in ok.headers


async def test_extra_cors_origins_are_allowed_next_to_the_workspace_ones(backend: Backend) -> None:
    extra = "https://dashboards.example.com"
    async with running(make_settings(backend, api_keys=KEYS, cors_origins=(extra,))) as client:
        for origin in (extra, WORKSPACE):
            preflight = await client.options("/sql/daily_prices", headers=preflight_headers(origin))
            assert preflight.status_code == 204, origin
            assert preflight.headers["access-control-allow-origin"] == origin
            got = await client.get("/sql/daily_prices", headers={"Origin": origin, "X-API-Key": "k2"})
            assert got.status_code == 200
            assert got.headers["access-control-allow-origin"] == origin
        rejected = await client.options(
            "/sql/daily_prices", headers=preflight_headers("https://other.example.com")
        )
        assert rejected.status_code == 400


async def test_the_api_key_never_appears_in_logs_or_error_bodies(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    secret, wrong = "sk-live-7f3a9c1e5b", "sk-wrong-0d4e8b2a6c"
    caplog.set_level(logging.INFO, logger="gateway.access")
    caplog.set_level(logging.INFO, logger="gateway")
    async with running(make_settings(backend, api_keys=(secret,))) as client:
        requests = [
            ("/sql/daily_prices", {"api_key": secret}, 200),
            ("/sql/daily_prices", {"api_key": secret, "ticker": "MSFT"}, 200),
            ("/sql/top_movers", {"top": "abc", "api_key": secret}, 422),
            ("/sql/daily_prices", {"start": "2025-02-30", "api_key": secret}, 422),
            ("/sql/no_such_widget", {"api_key": secret}, 404),
            ("/options/no_such_query", {"api_key": secret}, 404),
            ("/sql/daily_prices", {"api_key": wrong}, 401),
            ("/sql/no_such_widget", {"api_key": wrong, "x": secret[:6]}, 401),
        ]
        for path, params, status in requests:
            response = await client.get(path, params=params)
            assert response.status_code == status, (path, response.text)
            if status != 200:
                assert secret not in response.text and wrong not in response.text
        header_denied = await client.get("/sql/daily_prices", headers={"X-API-Key": wrong})
        assert_unauthorized(header_denied)
        assert wrong not in header_denied.text
        too_big = await client.post("/sql/daily_prices", params={"api_key": secret}, content=b"x" * 100_000)
        assert too_big.status_code == 413 and secret not in too_big.text
    access = [r.getMessage() for r in caplog.records if r.name == "gateway.access"]
    assert len(access) >= len(requests) + 2
    assert any("api_key=***" in line for line in access)
    assert secret not in caplog.text and wrong not in caplog.text


def test_a_key_is_compared_against_every_key_without_early_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = access.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    keys = access.KeyTable(["k1", "k2", "k3"])
    assert keys.resolve(b"k1") is not None
    assert calls == [(b"k1", b"k1"), (b"k1", b"k2"), (b"k1", b"k3")]
    calls.clear()
    assert keys.resolve(b"k3") is not None
    assert len(calls) == 3
    calls.clear()
    assert keys.resolve(b"nope") is None
    assert len(calls) == 3
    calls.clear()
    assert access.KeyTable(["k1"]).resolve(b"k1") is not None and len(calls) == 1


async def test_each_request_checks_its_key_against_every_configured_key(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(make_settings(backend, api_keys=KEYS)) as client:
        calls: list[tuple[bytes, bytes]] = []
        real = access.hmac.compare_digest

        def spy(a: bytes, b: bytes) -> bool:
            calls.append((a, b))
            return real(a, b)

        monkeypatch.setattr(access.hmac, "compare_digest", spy)
        assert (await client.get("/widgets.json", headers={"X-API-Key": "k1"})).status_code == 200
        assert calls == [(b"k1", b"k1"), (b"k1", b"k2")]
        calls.clear()
        assert_unauthorized(await client.get("/widgets.json", params={"api_key": "zz"}))
        assert [b for _, b in calls] == [b"k1", b"k2"]
