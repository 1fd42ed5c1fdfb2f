"""Merging several queues' listeners: what was taken and not handed over goes back, always."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from microlib.jobs import JobEnvelope
from microlib.jobs.taskiq import _merge


class Taken:
    """A delivery that records being given back."""

    def __init__(self, name: str, requeued: list[str]) -> None:
        self.envelope = JobEnvelope(name, {})
        self._requeued = requeued

    async def ack(self) -> None:
        return None

    async def requeue(self) -> None:
        await asyncio.sleep(0.05)  # a round trip to the broker
        self._requeued.append(self.envelope.job)


async def _stubborn(items: list[Taken]) -> AsyncIterator[Taken]:
    """A listener that swallows its first cancellation, as a broker read inside Python 3.11's
    wait_for does (see microlib.jobs._tasks), and takes a while to stop after the next."""
    for item in items:
        yield item
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(30)
    await asyncio.sleep(30)


async def test_a_delivery_waiting_in_the_handoff_is_requeued_before_the_listener_ends() -> None:
    """The worker takes one delivery; the other listener has already taken a second one, which
    waits in the handoff. The worker's task is cancelled (again and again, as cancel_and_wait
    does) while the listeners stop: when it has ended, the second delivery is back on its
    queue, not left to a cleanup still running as the queue's connections close."""
    requeued: list[str] = []
    merged = _merge([_stubborn([Taken("first", requeued)]), _stubborn([Taken("second", requeued)])])
    first = await anext(merged)
    for _ in range(20):  # let the other listener fill the handoff
        await asyncio.sleep(0)

    async def worker() -> None:
        # As JobWorker._consume: waiting for a free slot, the listener closed on the way out.
        try:
            await asyncio.sleep(30)
        finally:
            await merged.aclose()

    task = asyncio.create_task(worker())
    await asyncio.sleep(0.01)
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.1)
    assert [first.envelope.job, *requeued] in (["first", "second"], ["second", "first"])
