"""What the edge middleware needs to know about the connection itself (#6).

``ClientGone``: the server never cancels a request whose client disconnected, so a query would
keep its connection busy for nobody; the executor watches this signal instead
(``gateway.executor.requester_gone``). ``check_request_head``: uvicorn's httptools parser caps
the URL (~64 KiB, a 400) but accepts header blocks of any size, so that limit lives here.
``with_hsts``: over TLS, tell browsers to stay on HTTPS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gateway.errors import GatewayError

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ClientGone:
    """Returns once the client closed the connection; ``fired`` tells whether it did."""

    __slots__ = ("fired", "receive")

    def __init__(self, receive: Receive) -> None:
        self.receive, self.fired = receive, False

    async def __call__(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass  # the (empty) body of a GET; the next message only comes with a disconnect
        self.fired = True


_LOOPBACK = frozenset({b"localhost", b"127.0.0.1", b"[::1]"})
_HSTS = (b"strict-transport-security", b"max-age=31536000")


def wants_hsts(scope: dict[str, Any], host: bytes) -> bool:
    """Over HTTPS, except for loopback names: browsers would pin HTTPS on every localhost port."""
    return scope.get("scheme") == "https" and _host_name(host) not in _LOOPBACK


def _host_name(host: bytes) -> bytes:
    """``localhost:8443`` -> ``localhost``; ``[::1]:8443`` -> ``[::1]``."""
    if host.startswith(b"["):
        return host.partition(b"]")[0] + b"]"
    return host.partition(b":")[0]


def with_hsts(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), _HSTS]
        await send(message)

    return wrapped


MAX_HEADER_BYTES = 64 << 10
"""Most bytes of request headers (431 above)."""


class HeadersTooLarge(GatewayError):
    status, code = 431, "headers_too_large"


def check_request_head(scope: dict[str, Any]) -> None:
    """Refuse an oversized header block before anything reads it."""
    size = 0
    for name, value in scope["headers"]:  # a plain loop: half the cost of sum() over a generator
        size += len(name) + len(value)
    if size > MAX_HEADER_BYTES:
        raise HeadersTooLarge(f"request headers over {MAX_HEADER_BYTES} bytes")
