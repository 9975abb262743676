"""Redis store: replicas share entries and coordinate single-flight with a lock.

Redis is an accelerator, never a dependency: any Redis error is logged (once per outage) and the
request carries on as a miss, straight to the database. While Redis is failing, it is not asked
again for a few seconds, so an outage costs no latency.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.cache.base import Entry

log = logging.getLogger("gateway.cache")
PREFIX = "gw:v1:"
_RETRY_AFTER_FAILURE_S = 5.0
_NO_LOCK = "-"  # Redis unreachable: compute without cross-replica coordination
_decode = msgspec.msgpack.Decoder(Entry).decode
_encode = msgspec.msgpack.Encoder().encode
_UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisStore:
    def __init__(self, url: str, *, timeout_s: float = 0.5) -> None:
        self.client: Any = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._down_until = 0.0

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, error: Exception) -> None:
        if self._available():
            log.warning("redis cache unavailable (%s); serving from the database", error)
        self._down_until = time.monotonic() + _RETRY_AFTER_FAILURE_S

    async def get(self, key: str) -> Entry | None:
        if not self._available():
            return None
        try:
            raw = await self.client.get(PREFIX + key)
        except (RedisError, OSError) as error:
            self._failed(error)
            return None
        if raw is None:
            return None
        try:
            return _decode(raw)
        except msgspec.DecodeError:
            return None  # written by an incompatible version: treat as a miss

    async def set(self, key: str, entry: Entry) -> None:
        if not self._available():
            return
        ttl_ms = max(1, int(entry.ttl_s * 1000))
        try:
            await self.client.set(PREFIX + key, _encode(entry), px=ttl_ms)
        except (RedisError, OSError) as error:
            self._failed(error)

    async def delete_prefix(self, prefix: str) -> int:
        if not self._available():
            return 0
        count = 0
        try:
            async for name in self.client.scan_iter(match=f"{PREFIX}{prefix}*", count=500):
                count += await self.client.delete(name)
        except (RedisError, OSError) as error:
            self._failed(error)
        return count

    async def try_lock(self, key: str, ttl_s: float) -> str | None:
        if not self._available():
            return _NO_LOCK
        token = uuid.uuid4().hex
        try:
            acquired = await self.client.set(
                f"{PREFIX}lock:{key}", token, nx=True, px=max(1, int(ttl_s * 1000))
            )
        except (RedisError, OSError) as error:
            self._failed(error)
            return _NO_LOCK
        return token if acquired else None

    async def unlock(self, key: str, token: str) -> None:
        if token == _NO_LOCK or not self._available():
            return
        try:
            await self.client.eval(_UNLOCK, 1, f"{PREFIX}lock:{key}", token)
        except (RedisError, OSError) as error:
            self._failed(error)

    async def close(self) -> None:
        await self.client.aclose()
