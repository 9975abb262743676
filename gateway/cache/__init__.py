"""Cache layer: staleTime-aligned response cache with single-flight and refresh-ahead.

Entries are final encoded bodies, so a hit costs no database, no shaping, no JSON encoding.
N concurrent misses for one key run one computation; the others wait for it (across replicas
too, through a Redis lock). Errors are never stored: every waiter of a failed computation gets
the error and the next request tries again. The computation runs in the first requester's task:
when that client disconnects, the query is cancelled (the database is freed) and a request still
waiting, if any, runs it instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.cache.base import Entry, Store, make_entry
from gateway.cache.memory import MemoryStore

__all__ = ["CacheStats", "Entry", "MemoryStore", "ResponseCache", "Store", "make_entry", "open_store"]
log = logging.getLogger("gateway.cache")
Compute = Callable[[], Awaitable[Entry]]
REFRESH_AHEAD_AT = 0.75
"""Fraction of the TTL after which a requested entry is refreshed in the background."""
_PEER_POLL_S = 0.02
_MAX_SEEN = 200_000


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    joins: int = 0
    """Requests that waited for a computation already running (single-flight)."""
    refreshes: int = 0
    bypasses: int = 0
    computations: int = 0
    peer_waits: int = 0
    """Computations answered by another replica's result (Redis lock)."""
    not_admitted: int = 0
    """Bodies not stored because their key was new (admission ``repeat``)."""


class _LeaderGone(Exception):
    """The request computing an entry was cancelled; a waiting request takes over."""


@dataclass
class ResponseCache:
    store: Store
    clock: Callable[[], float] = time.time
    refresh_ahead: bool = True
    max_entry_bytes: int = 8 * 1024 * 1024
    lock_wait_s: float = 30.0
    admission: str = "repeat"
    """``always``: store every body. ``repeat``: store a body once its key is asked for again
    (or while other requests are waiting for it), so one-off parameter combinations never push
    popular entries out nor churn memory (measured: ~60 us per request when every request is
    a new key)."""
    stats: CacheStats = field(default_factory=CacheStats)
    _flights: dict[str, asyncio.Future[Entry]] = field(default_factory=dict)
    _joined: set[str] = field(default_factory=set)
    _seen: set[int] = field(default_factory=set)
    _background: set[asyncio.Task[Entry]] = field(default_factory=set)

    def peek(self, key: str, compute: Compute) -> Entry | None:
        """A fresh entry from an in-process store without awaiting (the hot path), or None."""
        if not isinstance(self.store, MemoryStore):
            return None
        entry = self.store.peek(key)
        if entry is None or not entry.fresh(self.clock()):
            return None
        self._after_hit(key, entry, compute)
        return entry

    async def fetch(
        self, key: str, ttl_s: float, compute: Compute, *, force: bool = False, peeked: bool = False
    ) -> tuple[Entry, str]:
        """The entry for ``key`` and how it was obtained: ``HIT``, ``MISS`` or ``REFRESH``.

        ``peeked``: the caller's ``peek`` just missed, so an in-process store need not be asked again.
        """
        status = "REFRESH" if force else "MISS"
        if not force and not (peeked and isinstance(self.store, MemoryStore)):
            entry = await self.store.get(key)
            if entry is not None and entry.fresh(self.clock()):
                self._after_hit(key, entry, compute)
                return entry, "HIT"
        while True:
            flight = self._flights.get(key)
            if flight is None:
                return await self._lead(key, ttl_s, compute), status
            self.stats.joins += 1
            self._joined.add(key)
            try:
                return await asyncio.shield(flight), status
            except _LeaderGone:
                continue  # the leading request was cancelled: take over its work

    async def invalidate(self, prefix: str) -> int:
        """Drop every entry whose key starts with ``prefix`` (e.g. a reloaded widget)."""
        return await self.store.delete_prefix(prefix)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.store.close()

    def _after_hit(self, key: str, entry: Entry, compute: Compute) -> None:
        self.stats.hits += 1
        if (
            self.refresh_ahead
            and key not in self._flights
            and entry.age_s(self.clock()) >= entry.ttl_s * REFRESH_AHEAD_AT
        ):
            # Still popular near expiry: recompute now so the next caller never waits.
            self.stats.refreshes += 1
            # A fresh context: the refresh belongs to no request (a request's disconnect watch,
            # gateway.executor.requester_gone, must not cancel it once that request is answered).
            task = asyncio.get_running_loop().create_task(
                self._lead(key, entry.ttl_s, compute), context=contextvars.Context()
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            task.add_done_callback(_log_failure)

    async def _lead(self, key: str, ttl_s: float, compute: Compute) -> Entry:
        """Compute in the caller's own task; concurrent callers wait on a future.

        No extra task per miss: the leader's cancellation (its client went away) cancels the
        query, and the followers, if any, are told to take over instead of being stranded.
        """
        self.stats.misses += 1
        flight: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            entry = await self._compute(key, ttl_s, compute)
        except asyncio.CancelledError:
            flight.set_exception(_LeaderGone())
            raise
        except BaseException as error:
            flight.set_exception(error)  # every waiter gets the error; nothing is stored
            raise
        else:
            flight.set_result(entry)
            return entry
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
                self._joined.discard(key)
            if flight.done() and not flight.cancelled():
                flight.exception()  # retrieved: no "never retrieved" warning without followers

    async def _compute(self, key: str, ttl_s: float, compute: Compute) -> Entry:
        token, entry = None, None
        if not isinstance(self.store, MemoryStore):  # only a shared store has peers to wait for
            token, entry = await self._lock_or_peer_result(key)
        if entry is not None:
            self.stats.peer_waits += 1
            return entry
        try:
            self.stats.computations += 1
            entry = await compute()
            if len(entry.body) <= self.max_entry_bytes and ttl_s > 0 and self._admit(key):
                await self.store.set(key, entry)
            return entry
        finally:
            if token is not None:
                await self.store.unlock(key, token)

    def _admit(self, key: str) -> bool:
        if self.admission == "always" or key in self._joined:
            return True
        marker = hash(key)
        if marker in self._seen:
            return True
        if len(self._seen) >= _MAX_SEEN:
            self._seen.clear()  # a rough window: forgets old sightings in one go
        self._seen.add(marker)
        self.stats.not_admitted += 1
        return False

    async def _lock_or_peer_result(self, key: str) -> tuple[str | None, Entry | None]:
        """Take the cross-replica lock, or wait for the replica holding it to store a result.

        Gives up waiting after ``lock_wait_s`` and computes without the lock (None token).
        """
        deadline = time.monotonic() + self.lock_wait_s
        while True:
            token = await self.store.try_lock(key, self.lock_wait_s)
            if token is not None:
                return token, None
            if time.monotonic() >= deadline:
                return None, None
            await asyncio.sleep(_PEER_POLL_S)
            entry = await self.store.get(key)
            if entry is not None and entry.fresh(self.clock()):
                return None, entry


def _log_failure(task: asyncio.Task[Entry]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("background refresh failed: %s", task.exception())


def open_store(cache_url: str, max_bytes: int) -> Store | None:
    """``memory`` (default), ``redis://...`` or ``off`` (None)."""
    if cache_url in ("off", "none", ""):
        return None
    if cache_url == "memory":
        return MemoryStore(max_bytes)
    if cache_url.startswith(("redis://", "rediss://", "unix://")):
        from gateway.cache.redis import RedisStore

        return RedisStore(cache_url)
    from gateway.errors import ConfigError

    raise ConfigError(f"cache_url must be memory, off or redis://..., got {cache_url!r}")
