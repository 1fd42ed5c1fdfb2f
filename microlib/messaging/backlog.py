"""What waits: each consumer's lag and dead letters, sampled into gauges.

Brokers count a backlog only when asked, so a task asks every
``messaging.lag_interval`` seconds and sets two gauges per consumer
(labels ``service``, ``method``): ``microlib_messaging_consumer_lag``, the group's
messages not handled yet, and ``messaging_consumer_dead_letters``, the
dead letters waiting for an operator. Every replica of a group reports the
group's whole backlog, so aggregate them with ``max``, not ``sum``. A
broker that cannot tell (a Kafka pattern not matched yet, Kafka's dead
letters) leaves its gauge unset; a failed sample is skipped and tried at
the next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from microlib.messaging.broker import Broker
    from microlib.messaging.consumer import OperationConsumer
    from microlib.observability.metrics import Metrics

__all__ = ["Backlog"]

log = structlog.get_logger("microlib.messaging")


class Backlog:
    """Samples the consumers' lag and dead letters into the service's metrics.

    Args:
        broker: Counts dead letters.
        metrics: The service's registry.
    """

    def __init__(self, broker: Broker, metrics: Metrics) -> None:
        self._broker = broker
        labels = ("service", "method")
        self._lag = metrics.gauge(
            "microlib_messaging_consumer_lag", "Messages of the consumer's group not handled yet.", labels
        )
        self._dead = metrics.gauge(
            "messaging_consumer_dead_letters", "Dead letters of the consumer's queue.", labels
        )

    async def sample(self, consumers: Sequence[OperationConsumer]) -> None:
        """Ask the broker once about each consumer and set the gauges."""
        for consumer in consumers:
            labels = (consumer.application.title, consumer.operation.name)
            try:
                lag = await consumer.lag()
                dead = await self._broker.dead_letter_count(consumer.queue)
            except Exception as exc:
                log.info(
                    "sampling the backlog failed", operation=labels[1], error=f"{type(exc).__name__}: {exc}"
                )
                continue
            if lag is not None:
                self._lag.labels(*labels).set(lag)
            if dead is not None:
                self._dead.labels(*labels).set(dead)

    async def run(
        self, consumers: Sequence[OperationConsumer], interval: float, stopping: asyncio.Event
    ) -> None:
        """Sample every ``interval`` seconds until ``stopping`` is set.

        Stopped by the event, not by cancellation: a sample cancelled in the
        middle of a broker round trip (an AMQP queue declare) can leave the
        channel it shares with the consumer out of step, just as the
        consumer drains on it.
        """
        while not stopping.is_set():
            await self.sample(consumers)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await stopping.wait()
