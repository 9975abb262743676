"""The outermost ASGI layer: request id, CORS (+ Private Network Access), API key, body size, log.

It wraps the whole Litestar app, so it runs before routing: a preflight never needs a key or
a database, a 401 carries CORS headers (the browser can show it), and an unknown path without a
key is a 401, not a 404 (nothing to enumerate).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from gateway.errors import GatewayError, InternalError, PayloadTooLarge, Unauthorized, error_body
from gateway.executor import requester_gone
from gateway.http.access import ACCESS_STATE_KEY, KeyTable
from gateway.http.connection import ClientGone, check_request_head, wants_hsts, with_hsts
from gateway.metrics import route_of
from gateway.workspace.encode import encode_json

# Plain ASGI types: this layer runs before Litestar and only needs dict access.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
access_log = logging.getLogger("gateway.access")
log = logging.getLogger("gateway.http")
# Request ids: a random per-process prefix and a counter (unique, and no system call per request).
_ID_PREFIX = os.urandom(4).hex()
_ids = itertools.count(1)
PUBLIC_PATHS = frozenset({"/health", "/health/live"})
_METHODS = "GET, POST, OPTIONS"


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    origins: frozenset[str]
    keys: KeyTable
    """Every accepted key with its scope (gateway/http/access.py); empty: no authentication."""
    key_header: str
    key_query_param: str
    max_body_bytes: int


class EdgeMiddleware:
    def __init__(
        self, app: ASGIApp, config: EdgeConfig, direct_routes: Mapping[str, ASGIApp] | None = None
    ) -> None:
        """``direct_routes``: mount prefix -> ASGI function answering GET/HEAD below it without
        passing through ``app`` (the data routes: Litestar's router costs ~4 % of a query)."""
        self.app, self.config = app, config
        self._direct = dict(direct_routes or {})
        self._keys = config.keys
        self._key_header = config.key_header.lower().encode("latin-1")
        self._allow_headers = ", ".join(sorted({config.key_header, "Content-Type", "Authorization"}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = f"{_ID_PREFIX}{next(_ids):x}"
        scope.setdefault("state", {})["request_id"] = request_id
        headers = _headers(scope)
        origin = headers.get(b"origin", b"").decode("latin-1")
        status_box = [0]
        send = self._wrap_send(send, origin, request_id, status_box)
        if wants_hsts(scope, headers.get(b"host", b"")):
            send = with_hsts(send)
        # The server never cancels a request whose client left; a query watches this instead.
        gone = ClientGone(receive)
        requester_gone.set(gone)  # this request's own task context: no reset needed
        try:
            if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
                await self._preflight(origin, headers, send)
            else:
                check_request_head(scope)  # before anything reads the headers
                self._authorize(scope, headers)
                self._check_body_size(headers)
                route = self._direct_route(scope)
                if route is None:
                    await self.app(scope, receive, send)
                else:
                    await _call_direct(route, scope, receive, send)
        except GatewayError as error:
            await _send_error(send, error, request_id)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not gone.fired or task is None or task.uncancel() > 0:
                raise  # not (only) our own doing: a shutdown, say
            # The client left and its query was cancelled: there is nobody to answer.
        finally:
            self._log(scope, status_box[0], started, request_id)

    def _direct_route(self, scope: Scope) -> ASGIApp | None:
        """The direct route for this request, with ``scope["path"]`` as a mount would see it."""
        if scope["method"] not in ("GET", "HEAD"):
            return None
        path: str = scope["path"]
        for prefix, route in self._direct.items():
            if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] == "/":
                scope["path"] = path[len(prefix) :]
                return route
        return None

    def _wrap_send(self, send: Send, origin: str, request_id: str, status_box: list[int]) -> Send:
        allowed = origin in self.config.origins

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                if allowed:
                    extra += [
                        (b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-allow-credentials", b"true"),
                        (
                            b"access-control-expose-headers",
                            b"X-Request-ID, X-Gateway-Truncated, X-Gateway-Rows, X-Cache, Age, ETag",
                        ),
                    ]
                if origin:
                    extra.append((b"vary", b"Origin"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        return wrapped

    async def _preflight(self, origin: str, headers: dict[bytes, bytes], send: Send) -> None:
        if origin not in self.config.origins:
            body = error_body(400, "cors_rejected", "origin not allowed")
            await _send_json(send, 400, encode_json(body), [])
            return
        extra = [
            (b"access-control-allow-methods", _METHODS.encode()),
            (b"access-control-allow-headers", self._allow_headers.encode("latin-1")),
            (b"access-control-max-age", b"600"),
        ]
        if headers.get(b"access-control-request-private-network", b"").lower() == b"true":
            extra.append((b"access-control-allow-private-network", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": extra})
        await send({"type": "http.response.body", "body": b""})

    def _authorize(self, scope: Scope, headers: dict[bytes, bytes]) -> None:
        if not self._keys or scope["path"] in PUBLIC_PATHS:
            return
        given = headers.get(self._key_header)
        if given is None:
            given = _query_value(scope, self.config.key_query_param)
        access = None if given is None else self._keys.resolve(given)
        if access is None:
            raise Unauthorized()
        # Routes narrow widgets.json, apps.json and the data routes to it (gateway/http/routes.py).
        scope["state"][ACCESS_STATE_KEY] = access

    def _check_body_size(self, headers: dict[bytes, bytes]) -> None:
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.config.max_body_bytes:
            raise PayloadTooLarge(f"request body over {self.config.max_body_bytes} bytes")

    def _log(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        """Count the finished request in the app's metrics and write its access-log line.

        Routes leave what they know in ``scope["state"]``: ``widget``, ``cache_key``, ``cache``
        (HIT/MISS/...), ``rows`` (gateway/http/serving.py) and ``error_code`` (gateway/http/app.py).
        """
        elapsed_s = time.perf_counter() - started
        notes = scope.get("state", {})
        status = status or 499  # no response was started: the client went away (nginx's 499)
        app = scope.get("litestar_app")
        metrics = app.state.get("metrics") if app is not None else None
        # As received: Litestar rewrites scope["path"] inside mounts (/sql/x arrives as /x), and
        # the percent-encoded form keeps control characters out of log lines.
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        if metrics is not None:
            route = route_of(path)
            metrics.observe(route, status, elapsed_s, notes.get("widget"), notes.get("error_code"))
        # Health probes come every few seconds from Docker or a load balancer: debug, not noise.
        level = logging.DEBUG if scope["path"] in PUBLIC_PATHS else logging.INFO
        if access_log.isEnabledFor(level):
            query = redact_query(scope.get("query_string", b""), self.config.key_query_param)
            path += f"?{query}" if query else ""
            message, fields = access_entry(scope["method"], path, status, elapsed_s, request_id, notes)
            access_log.log(level, message, extra={"fields": fields})


def access_entry(
    method: str, path: str, status: int, elapsed_s: float, request_id: str, notes: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The access-log line (text) and its fields (JSON logs). ``path`` must be redacted already."""
    duration_ms = round(elapsed_s * 1000, 1)
    fields: dict[str, Any] = {
        "request_id": request_id,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
    }
    text = f"{method} {path} {status} {duration_ms}ms id={request_id}"
    widget = notes.get("widget")
    if widget is not None:
        fields["widget"] = widget
        text += f" widget={widget}"
    key = notes.get("cache_key")
    if key is not None:
        # A short digest of the cache key: identical requests share it, without logging values twice.
        fields["params_hash"] = hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
        if "cache" in notes:
            fields["cache"], fields["rows"] = notes["cache"], notes["rows"]
            text += f" cache={notes['cache']} rows={notes['rows']}"
    error = notes.get("error_code")
    if error is not None:
        fields["error"] = error
        text += f" error={error}"
    key_name = getattr(notes.get("access"), "name", "*")  # a [[keys]] name (never the key itself)
    if key_name != "*":
        fields["key_name"] = key_name
        text += f" key_name={key_name}"
    return text, fields


def redact_query(raw: bytes, key_param: str) -> str:
    """The query string with the API-key value replaced, for logs."""
    if not raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    if not any(k == key_param for k, _ in pairs):
        return raw.decode("latin-1")
    return urlencode([(k, "***" if k == key_param else v) for k, v in pairs], safe="*,$")


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope["headers"]}


def _query_value(scope: Scope, name: str) -> bytes | None:
    raw = scope.get("query_string", b"")
    if name.encode() not in raw:
        return None
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        if key == name:
            return bytes(value, "latin-1")
    return None


async def _call_direct(route: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run a direct route with the error handling Litestar gives the routes it runs itself."""
    notes = scope["state"]
    try:
        await route(scope, receive, send)
    except GatewayError as error:
        notes["error_code"] = error.code  # read by the access log and metrics
        raise
    except Exception:
        notes["error_code"] = "internal_error"
        log.error("unhandled error (request %s)", notes.get("request_id"), exc_info=True)
        raise InternalError("internal error") from None


async def _send_error(send: Send, error: GatewayError, request_id: str) -> None:
    body = error_body(error.status, error.code, error.message, request_id=request_id, errors=error.errors)
    headers = [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await _send_json(send, error.status, encode_json(body), headers)


async def _send_json(send: Send, status: int, body: bytes, headers: list[Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
