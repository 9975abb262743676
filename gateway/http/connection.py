"""What the edge middleware needs to know about the connection itself (#6).

``ClientGone``: the server never cancels a request whose client disconnected, so a query would
keep its connection busy for nobody; the executor watches this signal instead
(``gateway.executor.requester_gone``). ``with_hsts``: over TLS, tell browsers to stay on HTTPS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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
