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
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["close_connections"]

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
        await consumer._fetcher.close()
    await consumer._client.close()
