"""Route handlers: thin, each one parse -> run -> shape -> respond."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, asgi, get
from litestar.exceptions import MethodNotAllowedException
from litestar.types import Receive, Scope, Send

from gateway import __version__
from gateway.errors import DatabaseUnavailable, Forbidden, UnknownWidget, error_body
from gateway.http.access import access_of, visible
from gateway.http.serving import serve_query
from gateway.http.state import GatewayState
from gateway.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from gateway.metrics import Metrics
from gateway.workspace.encode import encode_json
from gateway.workspace.openapi import DocumentInfo, build_openapi
from gateway.workspace.shapes import shape_options, shape_widget

JSON = "application/json"


def _state(request: Request[Any, Any, Any]) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


def _json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(content=body, status_code=status, media_type=JSON, headers=headers)


@get("/widgets.json", summary="Widget definitions for OpenBB Workspace")
async def widgets_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    published, access = _state(request).published, access_of(request.scope)
    return _json(published.widgets_json if access.unrestricted else published.view(access).widgets_json)


@get(["/apps.json", "/templates.json"], summary="Dashboards (apps) for OpenBB Workspace")
async def apps_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    published, access = _state(request).published, access_of(request.scope)
    return _json(published.apps_json if access.unrestricted else published.view(access).apps_json)


@get("/openapi.json", summary="OpenAPI document of every route, data routes included")
async def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    state, access = _state(request), access_of(request.scope)
    published = state.published
    document = published.documents.get(access)
    if document is None:
        view = published.view(access)
        settings = state.settings
        info = DocumentInfo(
            title="gateway",
            version=__version__,
            api_key_header=settings.api_key_header if (settings.api_keys or settings.keys) else None,
            api_key_query_param=settings.api_key_query_param,
            max_param_length=settings.max_param_length,
        )
        widgets = visible(published.catalog.widgets(), view.widgets)
        document = encode_json(build_openapi(widgets, visible(published.catalog, view.dropdowns), info))
        published.documents[access] = document
    return _json(document)


# The data routes are plain ASGI functions. The edge middleware calls them directly for GET and
# HEAD (DATA_ROUTES), skipping Litestar's routing and exception layers (~4 % of an uncached
# request); the Litestar mounts below answer everything else (405 for other methods, ...).
# Bodies are already encoded JSON. Their typed parameters are documented per widget in
# /openapi.json (gateway/workspace/openapi.py).


async def serve_widget_data(scope: Scope, receive: Receive, send: Send) -> None:
    state, query_id = _mounted(scope, "sql")
    spec = state.catalog.get(query_id)
    if spec is None or not spec.is_widget:
        raise UnknownWidget(f"unknown widget {query_id!r}")
    response = await serve_query(scope, state, spec, shape_widget, namespace="sql")
    await response(scope, receive, send)


async def serve_options_data(scope: Scope, receive: Receive, send: Send) -> None:
    state, query_id = _mounted(scope, "options")
    spec = state.catalog.get(query_id)
    if spec is None:
        raise UnknownWidget(f"unknown options query {query_id!r}")
    response = await serve_query(scope, state, spec, shape_options, namespace="options")
    await response(scope, receive, send)


DATA_ROUTES = {"/sql": serve_widget_data, "/options": serve_options_data}
widget_data = asgi("/sql", is_mount=True, copy_scope=False)(serve_widget_data)
options = asgi("/options", is_mount=True, copy_scope=False)(serve_options_data)


def _mounted(scope: Scope, namespace: str) -> tuple[GatewayState, str]:
    if scope.get("method") not in ("GET", "HEAD"):
        raise MethodNotAllowedException(headers={"Allow": "GET"})
    state: GatewayState = scope["litestar_app"].state.gateway
    query_id = scope["path"].strip("/")
    access = access_of(scope)
    if not access.unrestricted:
        view = state.published.view(access)
        if query_id not in (view.widgets if namespace == "sql" else view.options):
            # The very answer an id that does not exist gets: a key learns nothing beyond its scope.
            what = "widget" if namespace == "sql" else "options query"
            raise UnknownWidget(f"unknown {what} {query_id!r}")
    return state, query_id


@get(["/health", "/health/live"], summary="Liveness: the process answers")
async def health() -> Response[bytes]:
    return _json(b'{"status":"ok"}')


@get(["/ready", "/health/ready"], summary="Readiness: every database answers")
async def ready(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = _state(request)
    timeout = state.settings.connect_timeout_s + 1
    names = list(state.sources)
    results = await asyncio.gather(
        *(asyncio.wait_for(state.sources[n].ping(), timeout) for n in names),
        return_exceptions=True,
    )
    status = {n: ("ok" if r is None else "unavailable") for n, r in zip(names, results, strict=True)}
    if all(v == "ok" for v in status.values()):
        return _json(encode_json({"status": "ready", "databases": status}))
    error = DatabaseUnavailable("a database is unavailable")
    body = error_body(503, error.code, error.message, request_id=request.state.get("request_id"))
    body["databases"] = status
    return _json(encode_json(body), 503, error.headers)


@get("/metrics", summary="Prometheus metrics (needs the API key like every route but /health)")
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    if not access_of(request.scope).unrestricted:  # its labels name every widget
        raise Forbidden("metrics need a key that may use every widget")
    collected: Metrics = request.app.state.metrics
    return Response(content=collected.render(), media_type=METRICS_CONTENT_TYPE)


@get("/", summary="What this backend serves")
async def index(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = _state(request)
    widgets = [s.id for s in state.catalog.widgets()]
    return _json(
        encode_json(
            {
                "name": "gateway",
                "version": __version__,
                "widgets": len(widgets),
                "endpoints": [
                    "/widgets.json",
                    "/apps.json",
                    "/templates.json",
                    "/openapi.json",
                    "/sql/{widget}",
                    "/options/{query}",
                    "/health",
                    "/ready",
                    "/metrics",
                ],
            }
        )
    )


ROUTES = [widgets_json, apps_json, openapi_json, widget_data, options, health, ready, metrics, index]
