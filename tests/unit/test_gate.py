"""The FIFO gate in front of each connection pool: order, bounded waits, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from gateway.sources.gate import FifoGate


async def test_free_slots_are_taken_without_waiting() -> None:
    gate = FifoGate(2)
    assert await gate.acquire(0.01) and await gate.acquire(0.01)
    assert (gate.free, gate.waiting) == (0, 0)
    gate.release()
    assert gate.free == 1


async def test_waiters_are_served_in_arrival_order() -> None:
    gate = FifoGate(1)
    await gate.acquire(1.0)
    served: list[int] = []

    async def wait(n: int) -> None:
        assert await gate.acquire(5.0)
        served.append(n)
        await asyncio.sleep(0)
        gate.release()

    tasks = [asyncio.create_task(wait(n)) for n in range(5)]
    await asyncio.sleep(0)
    assert gate.waiting == 5
    gate.release()
    await asyncio.gather(*tasks)
    assert served == [0, 1, 2, 3, 4]
    assert (gate.free, gate.waiting) == (1, 0)


async def test_a_newcomer_cannot_take_a_slot_handed_to_a_waiter() -> None:
    gate = FifoGate(1)
    await gate.acquire(1.0)
    waiter = asyncio.create_task(gate.acquire(5.0))
    await asyncio.sleep(0)
    gate.release()  # handed to the waiter, which has not run yet
    assert gate.free == 0
    assert not await gate.acquire(0.05)  # the newcomer waits its turn (and times out)
    assert await waiter


async def test_a_wait_is_bounded_and_leaves_no_trace() -> None:
    gate = FifoGate(1)
    await gate.acquire(1.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert not await gate.acquire(0.05)
    assert 0.04 <= loop.time() - started < 1.0
    assert gate.waiting == 0
    gate.release()  # the expired waiter is skipped: the slot is free again
    assert gate.free == 1


async def test_a_cancelled_waiter_gives_up_its_place() -> None:
    gate = FifoGate(1)
    await gate.acquire(1.0)
    first = asyncio.create_task(gate.acquire(5.0))
    second = asyncio.create_task(gate.acquire(5.0))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    gate.release()
    assert await second
    assert (gate.free, gate.waiting) == (0, 0)


async def test_a_slot_handed_to_a_request_cancelled_meanwhile_goes_to_the_next() -> None:
    gate = FifoGate(1)
    await gate.acquire(1.0)
    first = asyncio.create_task(gate.acquire(5.0))
    second = asyncio.create_task(gate.acquire(5.0))
    await asyncio.sleep(0)
    gate.release()  # handed to ``first`` ...
    first.cancel()  # ... which is cancelled before it runs: the slot must not be lost
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second
    gate.release()
    assert gate.free == 1
