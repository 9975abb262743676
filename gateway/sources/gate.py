"""A FIFO gate in front of a connection pool: at most ``size`` holders, waiters served in order.

SQLAlchemy's asyncio pool lets a new arrival take a returned connection before a request that
has been waiting (seen: 1.3 s stalls and spurious 503s at 8 concurrent requests on 5
connections). Behind this gate the pool never has waiters. A released slot is handed straight
to the oldest waiter, so nobody can jump the queue, and each wait is bounded by one timer
(``asyncio.timeout`` around a semaphore cost three times as much per waiting request).
"""

from __future__ import annotations

import asyncio
from collections import deque


class _Expired(Exception):
    """A waiter's time ran out before a slot was handed to it."""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())


class FifoGate:
    def __init__(self, size: int) -> None:
        self.size, self.free, self.waiting = size, size, 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, timeout_s: float) -> bool:
        """Take a slot, waiting at most ``timeout_s`` in line; False if the wait ran out."""
        if self.free > 0:  # never while someone waits: release hands slots to waiters first
            self.free -= 1
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        self.waiting += 1
        timer = loop.call_later(timeout_s, _expire, waiter)
        try:
            await waiter
            return True
        except _Expired:
            return False
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()  # handed a slot just as this request was cancelled: pass it on
            raise
        finally:
            timer.cancel()
            self.waiting -= 1

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # skips waiters that expired or were cancelled
                waiter.set_result(None)
                return
        self.free += 1
