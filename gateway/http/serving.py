"""Serve one query's response: params -> cache (or database) -> encoded body + HTTP caching.

Cache key = namespace + widget id + a fingerprint of the file + the normalised typed params
(defaults resolved, multi-select sorted; the API key and unknown query keys never take part).
A fresh entry is answered with ``X-Cache: HIT``, its ``Age`` and a ``Cache-Control: max-age``
equal to the time it has left, so the browser asks again exactly when the server refreshes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response

from gateway.cache import Entry, make_entry
from gateway.catalog.spec import QuerySpec
from gateway.http.state import GatewayState
from gateway.params import cache_key_part, parse_params, split_query_string
from gateway.sources import Result
from gateway.workspace.encode import JsonArray
from gateway.workspace.shapes import shape_widget

DEFAULT_STALE_TIME_MS = 300_000  # OpenBB Workspace's own default staleTime
REFRESH_FLAG = "_refresh"
"""Query flag that bypasses the cache for one request (never bound to SQL)."""
Shape = Callable[[QuerySpec, Result, dict[str, list[str]]], bytes]


def ttl_seconds(spec: QuerySpec) -> float:
    stale_ms = spec.meta.staleTime if isinstance(spec.meta.staleTime, int) else DEFAULT_STALE_TIME_MS
    return stale_ms / 1000


def wants_refresh(request: Request[Any, Any, Any], query: dict[str, list[str]]) -> bool:
    flag = query.get(REFRESH_FLAG, [""])[-1].lower()
    if flag in ("1", "true", "yes"):
        return True
    directives = request.headers.get("cache-control", "") + request.headers.get("pragma", "")
    return "no-cache" in directives.lower()


async def serve_query(
    request: Request[Any, Any, Any],
    state: GatewayState,
    spec: QuerySpec,
    shape: Shape,
    *,
    namespace: str,
    variant: str = "",
) -> Response[bytes]:
    query = split_query_string(request.scope.get("query_string", b""))
    values = parse_params(spec, query, now=state.clock(), limits=state.param_limits)
    cache = state.cache
    ttl_s = ttl_seconds(spec)

    async def compute() -> Entry:
        now_s = cache.clock() if cache is not None else 0.0
        if shape is shape_widget and spec.widget_type == "table":
            # Tables are encoded chunk by chunk as rows arrive (flat memory on big results).
            array = JsonArray()
            fetched = await state.executor.stream(spec, values, array)
            return make_entry(array.body(), now_s, ttl_s, fetched.row_count, fetched.truncated)
        result = await state.executor.run(spec, values)
        return make_entry(shape(spec, result, query), now_s, ttl_s, len(result.rows), result.truncated)

    if cache is None or not spec.meta.cache:
        return _respond(request, await compute(), "BYPASS", now_s=0.0, cacheable=False)
    key = f"{namespace}:{spec.id}|{state.published.fingerprints[spec.id]}|{variant}|" + cache_key_part(values)
    force = wants_refresh(request, query)
    entry = None if force else cache.peek(key, compute)
    status = "HIT"
    if entry is None:
        entry, status = await cache.fetch(key, ttl_s, compute, force=force)
    return _respond(request, entry, status, now_s=cache.clock(), cacheable=True)


def _respond(
    request: Request[Any, Any, Any], entry: Entry, status: str, *, now_s: float, cacheable: bool
) -> Response[bytes]:
    headers = {"X-Cache": status, "X-Gateway-Rows": str(entry.rows), "ETag": entry.etag}
    if entry.truncated:
        headers["X-Gateway-Truncated"] = "true"
    if cacheable:
        age = entry.age_s(now_s)
        headers["Age"] = str(int(age))
        headers["Cache-Control"] = f"private, max-age={max(0, int(entry.ttl_s - age))}"
    else:
        headers["Cache-Control"] = "no-store"
    if request.headers.get("if-none-match") == entry.etag:
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=entry.body, status_code=200, media_type="application/json", headers=headers)
