"""Request/reply: the replies to one instance's requests, matched by correlation id.

The first request on an operation opens the instance's inbox for its reply
(:meth:`~microlib.messaging.Broker.inbox`: an exclusive RabbitMQ queue, a
Redis stream, a one-partition Kafka topic, a memory queue), and one task
reads it for as long as the service runs. Each request carries a new
correlation id and the inbox's address as ``reply_to``; the reply with that
correlation id completes the request's future. A reply nobody waits for
any more (its request timed out) is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import structlog

from microlib.core.errors import Unavailable
from microlib.messaging.broker import Delivery, Inbox
from microlib.messaging.codec import header_at
from microlib.messaging.definition import OperationDefinition

__all__ = ["Replies"]

log = structlog.get_logger("microlib.messaging")


class Replies:
    """The inbox of one reply operation and the requests waiting on it.

    Args:
        operation: The reply operation.
        inbox: The broker's inbox for it.
    """

    def __init__(self, operation: OperationDefinition, inbox: Inbox) -> None:
        self.operation = operation
        self.address = inbox.address
        self._inbox = inbox
        self._waiting: dict[str, asyncio.Future[Delivery]] = {}
        self._reading = asyncio.get_running_loop().create_task(
            self._read(), name=f"microlib-replies-{operation.name}"
        )

    @property
    def open(self) -> bool:
        """Whether replies are still read (the reading task has not ended)."""
        return not self._reading.done()

    @contextlib.contextmanager
    def expect(self, correlation_id: str) -> Iterator[asyncio.Future[Delivery]]:
        """A future completed by the reply carrying ``correlation_id``, while in the block."""
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = future
        try:
            yield future
        finally:
            del self._waiting[correlation_id]

    async def close(self) -> None:
        """Stop reading; requests still waiting fail with ``Unavailable``."""
        await self._inbox.subscription.stop()
        self._reading.cancel()
        await asyncio.gather(self._reading, return_exceptions=True)
        self._fail("messaging stopped before the reply arrived")

    def _fail(self, why: str) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(Unavailable(why, reason="REPLIES_CLOSED"))

    async def _read(self) -> None:
        locations = [m.correlation_id for m in self.operation.messages]
        try:
            async for delivery in self._inbox.subscription:
                correlation_id = delivery.correlation_id or next(
                    (found for where in locations if (found := header_at(delivery.headers, where))), None
                )
                future = self._waiting.get(correlation_id or "")
                if future is not None and not future.done():
                    future.set_result(delivery)
                else:
                    log.info(
                        "reply to no waiting request dropped",
                        operation=self.operation.name,
                        correlation_id=correlation_id,
                    )
                with contextlib.suppress(Exception):
                    await delivery.ack()
        except Exception as exc:
            # The next request opens a new inbox.
            log.warning(
                "reading replies failed", operation=self.operation.name, error=f"{type(exc).__name__}: {exc}"
            )
            self._fail(f"reading the replies of {self.operation.name} failed: {type(exc).__name__}: {exc}")
