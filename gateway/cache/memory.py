"""In-process LRU store with a byte budget (an unbounded cache grew ~250 MB in 6 s in tests)."""

from __future__ import annotations

from collections import OrderedDict

from gateway.cache.base import Entry


class MemoryStore:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: str) -> Entry | None:
        """Synchronous lookup for the hot path (no await, no task switch)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    async def get(self, key: str) -> Entry | None:
        return self.peek(key)

    async def set(self, key: str, entry: Entry) -> None:
        if entry.size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        self._entries[key] = entry
        self.bytes += entry.size
        while self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size

    async def delete_prefix(self, prefix: str) -> int:
        doomed = [k for k in self._entries if k.startswith(prefix)]
        for key in doomed:
            self.bytes -= self._entries.pop(key).size
        return len(doomed)

    async def try_lock(self, key: str, ttl_s: float) -> str | None:
        return "local"  # one process: the in-process single-flight is enough

    async def unlock(self, key: str, token: str) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
        self.bytes = 0
