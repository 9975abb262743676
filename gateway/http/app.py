"""``create_app(settings)``: the only place where the layers are wired together."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig

from gateway import __version__
from gateway.cache import ResponseCache, open_store
from gateway.catalog import Catalog, load_catalog
from gateway.errors import ConfigError, GatewayError, error_body
from gateway.executor import Executor
from gateway.http.access import KeyTable
from gateway.http.middleware import EdgeConfig, EdgeMiddleware
from gateway.http.reload import watch
from gateway.http.routes import DATA_ROUTES, ROUTES
from gateway.http.serving import REFRESH_FLAG
from gateway.http.state import GatewayState, Published, wall_clock
from gateway.metrics import Metrics
from gateway.params import ParamLimits
from gateway.settings import Settings
from gateway.sources import Sources, open_sources
from gateway.startup import verify_queries
from gateway.workspace.encode import encode_json

log = logging.getLogger("gateway")
_DEFAULT: Any = object()  # "not given": distinguishes cache=None (no cache) from the default
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    431: "headers_too_large",
}


def create_app(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    sources: Sources | None = None,
    clock: Callable[[], datetime] | None = None,
    cache: ResponseCache | None = _DEFAULT,
    verify_on_startup: bool = True,
) -> Litestar:
    """Build the ASGI app. Raises ``CatalogError`` / ``ConfigError`` on invalid input.

    ``catalog``, ``sources`` and ``clock`` may be injected (tests); by default they are built
    from ``settings``. On startup every query is compiled on its database when that database
    answers (a broken query stops the server); a database that is down only logs a warning.
    """
    sources = sources if sources is not None else open_sources(settings)
    dialects = {name: source.dialect for name, source in sources.items()}
    catalog = catalog if catalog is not None else load_catalog(settings.queries_dir, dialects)
    _check_reserved_names(catalog, settings)
    state = GatewayState(
        settings=settings,
        published=Published.of(catalog),
        sources=sources,
        executor=Executor(sources),
        cache=_open_cache(settings) if cache is _DEFAULT else cache,
        param_limits=ParamLimits(settings.max_param_length, settings.max_list_items),
        clock=clock or wall_clock(settings.timezone),
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if verify_on_startup:
            verified = await verify_queries(state.catalog, state.executor)
            state.published = Published.of(state.catalog, verified.columns)
        # Everything loaded so far lives as long as the process: keep it out of every future
        # garbage collection pass (full passes otherwise rescan all of it, ~1 per 1,000 requests).
        gc.collect()
        gc.freeze()
        check = functools.partial(_check_reserved_names, settings=settings)
        watcher = asyncio.create_task(watch(state, check=check)) if settings.reload else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
            if state.cache is not None:
                await state.cache.close()
            await state.sources.close()

    app = Litestar(
        route_handlers=ROUTES,
        lifespan=[lifespan],
        exception_handlers={
            GatewayError: _gateway_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(title="gateway", version=__version__),
        logging_config=None,
        debug=False,
    )
    app.state.gateway = state
    app.state.metrics = Metrics(state)
    # Outermost layer, before routing (see gateway/http/middleware.py for why).
    app.asgi_handler = EdgeMiddleware(  # type: ignore[assignment]
        app.asgi_handler,  # type: ignore[arg-type]
        EdgeConfig(
            origins=frozenset(settings.allowed_origins),
            keys=KeyTable(settings.api_keys, settings.keys),
            key_header=settings.api_key_header,
            key_query_param=settings.api_key_query_param,
            max_body_bytes=settings.max_body_bytes,
        ),
        direct_routes=DATA_ROUTES,  # type: ignore[arg-type]  # Litestar's ASGI types, same functions
    )
    return app


def _open_cache(settings: Settings) -> ResponseCache | None:
    store = open_store(settings.cache_url, settings.cache_max_bytes)
    if store is None:
        return None
    return ResponseCache(
        store,
        refresh_ahead=settings.cache_refresh_ahead,
        max_entry_bytes=settings.cache_max_entry_bytes,
        lock_wait_s=settings.statement_timeout_ms / 1000 + 1,
        admission=settings.cache_admission,
    )


def _check_reserved_names(catalog: Catalog, settings: Settings) -> None:
    reserved = {
        settings.api_key_query_param: "the API key query parameter",
        REFRESH_FLAG: "the cache refresh flag",
    }
    for spec in catalog:
        for name, role in reserved.items():
            if spec.param(name) is not None:
                raise ConfigError(f"{spec.path}: param {name!r} is reserved ({role}); rename it")


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _note_error(request: Request[Any, Any, Any], code: str) -> None:
    """Leave the error code for the access log and metrics (gateway/http/middleware.py)."""
    request.scope.setdefault("state", {})["error_code"] = code


def _respond(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=encode_json(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _gateway_error(request: Request[Any, Any, Any], error: GatewayError) -> Response[bytes]:
    _note_error(request, error.code)
    body = error_body(
        error.status,
        error.code,
        error.message,
        request_id=_request_id(request),
        errors=error.errors,
    )
    return _respond(error.status, body, error.headers)


def _http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    status = error.status_code
    code = _HTTP_CODES.get(status, "internal_error" if status >= 500 else "bad_request")
    _note_error(request, code)
    message = error.detail if status < 500 else "internal error"
    body = error_body(status, code, str(message), request_id=_request_id(request))
    return _respond(status, body, dict(error.headers or {}))


def _unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    request_id = _request_id(request)
    _note_error(request, "internal_error")
    log.error("unhandled error (request %s)", request_id, exc_info=error)
    return _respond(500, error_body(500, "internal_error", "internal error", request_id=request_id))
