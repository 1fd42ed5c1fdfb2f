"""What microlib uses of aiokafka that is not its public API.

A consumer's ``stop()`` leaves the group through the group coordinator,
which can be stuck in a rebalance; past a bounded wait the Kafka adapter
ends the consumer without it (the group notices at its session timeout).
aiokafka has no public call for that. ``stop()`` closes the fetcher only
once the group is left, so a ``stop()`` cut short leaves the fetcher (and
the coordinator's tasks, when cut short before they ended) running: closing
the client's connections alone is not enough, the fetcher opens a new one
for its next fetch. aiokafka is pinned to the minor tested (``>=0.14,<0.15``,
the ``kafka`` extra); ``tests/messaging/test_aiokafka_drift.py`` fails when
a release moves it.

aiokafka's ``Fetcher.close()`` cancels each fetch in progress and awaits it;
one cancelled while it waits to retry after a failed fetch (Kafka down, or
reconnecting) re-raises that cancellation, out of ``close()`` and of the
consumer's ``stop()``, at every call, the client's connections not closed.
That cancellation is aiokafka's own, not the caller's: it is held apart
from one aimed at the task closing the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["cancellations_of_its_own", "close_connections"]

_COORDINATOR_TASKS = ("_coordination_task", "_heartbeat_task", "_commit_refresh_task")
"""The tasks a ``GroupCoordinator`` runs; its ``close()`` ends them before leaving the group."""


async def close_connections(consumer: Any) -> None:
    """End an ``AIOKafkaConsumer`` whose ``stop()`` did not finish: the group
    coordinator's tasks, then the fetcher, then every connection of its client."""
    coordinator = consumer._coordinator
    tasks = [getattr(coordinator, name, None) for name in _COORDINATOR_TASKS]
    running = [task for task in tasks if task is not None and not task.done()]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    if consumer._fetcher is not None:
        with cancellations_of_its_own():
            await consumer._fetcher.close()
    await consumer._client.close()


@contextlib.contextmanager
def cancellations_of_its_own() -> Iterator[None]:
    """Let a ``CancelledError`` out only when the current task was cancelled meanwhile,
    not when aiokafka re-raises the cancellation of a task of its own."""
    task = asyncio.current_task()
    before = 0 if task is None else task.cancelling()
    try:
        yield
    except asyncio.CancelledError:
        if task is None or task.cancelling() > before:
            raise
