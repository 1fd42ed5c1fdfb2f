"""The embedded ``JobQueue``: queues, delays and dead letters in this process.

Jobs live as long as the process: fine for development, tests and a
single replica that may lose queued work on a crash; use a broker URL
(``redis://``, ``amqp://``, ``postgresql://``) otherwise.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from microlib.jobs.clock import Clock, SystemClock
from microlib.jobs.envelope import JobEnvelope
from microlib.jobs.queue import DeadLetter, Delivery, JobOutcome

__all__ = ["MemoryQueue"]


class _MemoryDelivery:
    __slots__ = ("_queue", "envelope")

    def __init__(self, queue: MemoryQueue, envelope: JobEnvelope) -> None:
        self._queue = queue
        self.envelope = envelope

    async def ack(self) -> None:
        """Nothing to do: the job left the queue when it was handed out."""

    async def requeue(self) -> None:
        """Put the job back at the head of its queue."""
        self._queue._push(self.envelope, first=True)

    def abandon(self) -> None:
        """Nothing is held: the job left the queue when it was handed out."""


class MemoryQueue:
    """Jobs queued in memory, by priority then order, with delays on a clock.

    Args:
        clock: The clock delays are read on (a frozen one in tests).
        idempotency_ttl: Seconds an idempotency key is remembered.
    """

    name = "jobs-queue"

    def __init__(self, *, clock: Clock | None = None, idempotency_ttl: float = 86400.0) -> None:
        self.clock = clock or SystemClock()
        self._ready: dict[str, list[tuple[int, int, JobEnvelope]]] = {}
        self._delayed: list[tuple[float, int, JobEnvelope]] = []
        self._order = itertools.count()
        self._changed = asyncio.Event()
        self._dead: dict[str, DeadLetter] = {}
        self._outcomes: dict[str, JobOutcome] = {}
        self._outcome_waiters: dict[str, list[asyncio.Future[JobOutcome]]] = {}
        self._keys: dict[str, tuple[str, float]] = {}
        self._idempotency_ttl = idempotency_ttl

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        """Nothing to disconnect; queued jobs are dropped with the process."""

    async def check(self) -> Mapping[str, Any] | None:
        """Always healthy; reports how many jobs wait."""
        return {"ready": self.ready(), "delayed": len(self._delayed)}

    def ready(self) -> int:
        """Jobs due and waiting for a worker."""
        return sum(len(q) for q in self._ready.values())

    def delayed(self) -> int:
        """Jobs waiting for their time (delays, retry backoffs)."""
        return len(self._delayed)

    async def enqueue(self, envelope: JobEnvelope, *, not_before: float | None = None) -> str:
        """Queue ``envelope``, now or at ``not_before``."""
        key = envelope.idempotency_key
        now = self.clock.time()
        if key is not None and envelope.attempt == 1:
            held = self._keys.get(key)
            if held is not None and held[1] > now:
                return held[0]
            self._keys[key] = (envelope.id, now + self._idempotency_ttl)
        if not_before is not None and not_before > now:
            heapq.heappush(self._delayed, (not_before, next(self._order), envelope))
            self._changed.set()
        else:
            self._push(envelope)
        return envelope.id

    async def forget_key(self, key: str, job_id: str) -> None:
        """Drop ``key`` if ``job_id`` holds it."""
        if self._keys.get(key, ("", 0.0))[0] == job_id:
            del self._keys[key]

    async def key_holder(self, key: str) -> tuple[str, float] | None:
        """``key``'s job and when it took it, unless expired."""
        job_id, expires = self._keys.get(key, ("", 0.0))
        return (job_id, expires - self._idempotency_ttl) if expires > self.clock.time() else None

    def _push(self, envelope: JobEnvelope, *, first: bool = False) -> None:
        order = -next(self._order) if first else next(self._order)
        heapq.heappush(self._ready.setdefault(envelope.queue, []), (-envelope.priority, order, envelope))
        self._changed.set()

    def _promote(self) -> float | None:
        """Move due delayed jobs to their queues; the next due time, if any."""
        now = self.clock.time()
        while self._delayed and self._delayed[0][0] <= now:
            self._push(heapq.heappop(self._delayed)[2])
        return self._delayed[0][0] if self._delayed else None

    def _take(self, queues: Sequence[str]) -> JobEnvelope | None:
        best: list[tuple[int, int, JobEnvelope]] | None = None
        for name in queues:
            heap = self._ready.get(name)
            if heap and (best is None or heap[0][:2] < best[0][:2]):
                best = heap
        return heapq.heappop(best)[2] if best else None

    async def deliveries(
        self, queues: Sequence[str], *, listening: Callable[[], None] | None = None
    ) -> AsyncIterator[Delivery]:
        """Due jobs of ``queues``, highest priority first, as they come."""
        if listening is not None:
            listening()
        while True:
            due = self._promote()
            envelope = self._take(queues)
            if envelope is not None:
                yield _MemoryDelivery(self, envelope)
                continue
            self._changed.clear()
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._changed.wait())]
            if due is not None:
                waits.append(asyncio.ensure_future(self.clock.sleep_until(due)))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def bury(self, letter: DeadLetter) -> None:
        """Keep ``letter`` until replayed or purged."""
        self._dead[letter.envelope.id] = letter

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The dead letters, oldest first."""
        return sorted(self._dead.values(), key=lambda d: d.failed_at)[:limit]

    async def dead_letter(self, job_id: str) -> DeadLetter | None:
        """The dead letter of ``job_id``."""
        return self._dead.get(job_id)

    async def replay(self, job_id: str) -> bool:
        """Queue the dead letter again, as attempt 1."""
        letter = self._dead.pop(job_id, None)
        if letter is None:
            return False
        self._push(replace(letter.envelope, attempt=1))
        return True

    async def purge(self) -> int:
        """Drop every dead letter."""
        count = len(self._dead)
        self._dead.clear()
        return count

    async def dead_letter_count(self) -> int:
        """The dead letters kept."""
        return len(self._dead)

    async def set_outcome(self, job_id: str, outcome: JobOutcome, ttl: float) -> None:
        """Keep the outcome (for the process's life) and wake its waiters."""
        self._outcomes[job_id] = outcome
        for waiter in self._outcome_waiters.pop(job_id, []):
            if not waiter.done():
                waiter.set_result(outcome)

    async def outcome(self, job_id: str, timeout: float) -> JobOutcome:
        """Wait for the outcome of ``job_id``."""
        known = self._outcomes.get(job_id)
        if known is not None:
            return known
        waiter: asyncio.Future[JobOutcome] = asyncio.get_running_loop().create_future()
        self._outcome_waiters.setdefault(job_id, []).append(waiter)
        async with asyncio.timeout(timeout):
            return await waiter
