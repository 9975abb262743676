"""Serve one query's response: params -> cache (or database) -> encoded body + HTTP caching.

Cache key = namespace + widget id + a fingerprint of the file + the normalised typed params
(defaults resolved, multi-select sorted; the API key and unknown query keys never take part).
A fresh entry is answered with ``X-Cache: HIT``, its ``Age`` and a ``Cache-Control: max-age``
equal to the time it has left, so the browser asks again exactly when the server refreshes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway.cache import Entry, make_entry
from gateway.catalog.spec import QuerySpec
from gateway.http.state import GatewayState
from gateway.sources import Result
from gateway.workspace.encode import JsonArray
from gateway.workspace.shapes import shape_widget, streams_as_table, variant

DEFAULT_STALE_TIME_MS = 300_000  # OpenBB Workspace's own default staleTime
REFRESH_FLAG = "_refresh"
"""Query flag that bypasses the cache for one request (never bound to SQL)."""
Shape = Callable[[QuerySpec, Result, dict[str, list[str]], Mapping[str, Any]], bytes]


def ttl_seconds(spec: QuerySpec) -> float:
    stale_ms = spec.meta.staleTime if isinstance(spec.meta.staleTime, int) else DEFAULT_STALE_TIME_MS
    return stale_ms / 1000


def request_headers(scope: Any, *names: bytes) -> dict[bytes, bytes]:
    """The few request headers serving needs, read straight from the ASGI scope (cheap)."""
    wanted = set(names)
    return {k: v for k, v in scope["headers"] if k in wanted}


def wants_refresh(headers: dict[bytes, bytes], query: dict[str, list[str]]) -> bool:
    flag = query.get(REFRESH_FLAG, [""])[-1].lower()
    if flag in ("1", "true", "yes"):
        return True
    directives = headers.get(b"cache-control", b"") + headers.get(b"pragma", b"")
    return b"no-cache" in directives.lower()


async def serve_query(
    scope: Any, state: GatewayState, spec: QuerySpec, shape: Shape, *, namespace: str
) -> RawResponse:
    notes = scope["state"]  # read by the access log and metrics (gateway/http/middleware.py)
    notes["widget"] = spec.id
    query, values, key = state.published.memo.parse(
        spec, scope.get("query_string", b""), state.clock(), state.param_limits
    )
    key = notes["cache_key"] = f"{namespace}:{key}|{variant(spec, query) if shape is shape_widget else ''}"
    headers = request_headers(scope, b"cache-control", b"pragma", b"if-none-match")
    cache = state.cache
    ttl_s = ttl_seconds(spec)

    async def compute() -> Entry:
        now_s = cache.clock() if cache is not None else 0.0
        if shape is shape_widget and streams_as_table(spec, query):
            # Plain row arrays are encoded chunk by chunk as rows arrive (flat memory on big results).
            array = JsonArray()
            fetched = await state.executor.stream(spec, values, array)
            return make_entry(array.body(), now_s, ttl_s, fetched.row_count, fetched.truncated)
        result = await state.executor.run(spec, values)
        return make_entry(
            shape(spec, result, query, values), now_s, ttl_s, len(result.rows), result.truncated
        )

    if cache is None or not spec.meta.cache:
        computed = await compute()
        notes["cache"], notes["rows"] = "BYPASS", computed.rows
        return _respond(headers, computed, "BYPASS", now_s=0.0, cacheable=False)
    force = wants_refresh(headers, query)
    entry = None if force else cache.peek(key, compute)
    status = "HIT"
    if entry is None:
        entry, status = await cache.fetch(key, ttl_s, compute, force=force, peeked=not force)
    notes["cache"], notes["rows"] = status, entry.rows
    return _respond(headers, entry, status, now_s=cache.clock(), cacheable=True)


class RawResponse:
    """A pre-built ASGI response: the body is already encoded, so nothing is left to do."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


def _respond(
    request_headers: dict[bytes, bytes], entry: Entry, status: str, *, now_s: float, cacheable: bool
) -> RawResponse:
    etag = entry.etag.encode()
    headers = [(b"x-cache", status.encode()), (b"x-gateway-rows", b"%d" % entry.rows), (b"etag", etag)]
    if entry.truncated:
        headers.append((b"x-gateway-truncated", b"true"))
    if cacheable:
        age = entry.age_s(now_s)
        headers.append((b"age", b"%d" % age))
        headers.append((b"cache-control", b"private, max-age=%d" % max(0, int(entry.ttl_s - age))))
    else:
        headers.append((b"cache-control", b"no-store"))
    if request_headers.get(b"if-none-match") == etag:
        return RawResponse(304, headers, b"")
    headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", b"%d" % len(entry.body)))
    return RawResponse(200, headers, entry.body)
