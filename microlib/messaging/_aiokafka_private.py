"""What microlib uses of aiokafka that is not its public API.

A consumer's ``stop()`` leaves the group through the group coordinator,
which can be stuck in a rebalance; past a bounded wait the Kafka adapter
closes the consumer's connections without it (the group notices at its
session timeout). aiokafka has no public call for that: its client's
``close()`` is it. aiokafka is pinned to the minor tested (``>=0.14,<0.15``,
the ``kafka`` extra); ``tests/messaging/test_aiokafka_drift.py`` fails when
a release moves it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["close_connections"]


async def close_connections(consumer: Any) -> None:
    """Close every connection of an ``AIOKafkaConsumer`` whose ``stop()`` did not finish."""
    await consumer._client.close()
