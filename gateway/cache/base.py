"""Cache entries and the storage interface (memory or Redis)."""

from __future__ import annotations

import itertools
import os
from typing import Protocol

import msgspec


class Entry(msgspec.Struct, frozen=True, gc=False):
    """One encoded response body, as stored."""

    body: bytes
    created_s: float
    """Wall-clock time (epoch seconds) the body was computed; shared across replicas."""
    ttl_s: float
    rows: int = 0
    truncated: bool = False
    etag: str = ""

    def age_s(self, now_s: float) -> float:
        return max(0.0, now_s - self.created_s)

    def fresh(self, now_s: float) -> bool:
        return self.age_s(now_s) < self.ttl_s

    @property
    def size(self) -> int:
        return len(self.body) + 128


def make_entry(body: bytes, created_s: float, ttl_s: float, rows: int = 0, truncated: bool = False) -> Entry:
    return Entry(body, created_s, ttl_s, rows, truncated, etag_of(body))


_ETAG_PREFIX = os.urandom(6).hex()  # per process: replicas sharing a Redis cache never collide
_etag_serials = itertools.count(1)


def etag_of(body: bytes) -> str:
    """A validator naming this computed entry (length, process, serial number).

    Not a hash of the body: hashing a large body costs a full extra pass over it on every miss.
    The price is that a refresh with unchanged data answers 200 once instead of 304. Not
    ``os.urandom`` per entry either: a system call per miss (~3 % of an uncached request).
    """
    return f'"{len(body):x}-{_ETAG_PREFIX}{next(_etag_serials):x}"'


class Store(Protocol):
    """Where entries live. Implementations never raise on outages: they miss instead."""

    async def get(self, key: str) -> Entry | None: ...

    async def set(self, key: str, entry: Entry) -> None: ...

    async def delete_prefix(self, prefix: str) -> int:
        """Drop every entry whose key starts with ``prefix``; return how many."""

    async def try_lock(self, key: str, ttl_s: float) -> str | None:
        """Cross-replica single-flight: a token if this process should compute ``key``."""

    async def unlock(self, key: str, token: str) -> None: ...

    async def close(self) -> None: ...
