"""``t.messages``: publish to a service's consumers in a test, and see what its handlers published."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from microlib.messaging.broker import Delivery, OutgoingMessage
from microlib.messaging.definition import OperationDefinition

if TYPE_CHECKING:
    from microlib.service import Service

__all__ = ["Messages", "Published"]


@dataclass(frozen=True, slots=True)
class Published:
    """One message the service published, as its broker confirmed it.

    Args:
        operation: The operation it was published on.
        payload: The typed payload, as given to the publisher.
        message: What went to the broker (address, headers, key, ids).
    """

    operation: OperationDefinition
    payload: Any
    message: OutgoingMessage


class Messages:
    """The messaging side of a :class:`~microlib.testing.TestService`.

    It works the same on the in-memory broker (the default in tests) and on
    a real one (``TestService(..., with_real=True)``).

    Args:
        service: The started service.

    Example::

        async with TestService(service) as t:
            outcome = await t.messages.publish(orders.place_order, placed, parameters={"region": "eu"})
            assert outcome == "ack"
            assert t.messages.sent(stock.reserved) == [Reserved(order_id="o-1")]
    """

    __test__ = False

    def __init__(self, service: Service) -> None:
        self._service = service
        self._messaging = service.messaging
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self.published: list[Published] = []
        """Every message the service published since the test started, in order."""
        self._messaging.publisher.observers.append(self._record)
        self._messaging.observers.append(self._settled)

    def close(self) -> None:
        """Stop recording."""
        self._messaging.publisher.observers.remove(self._record)
        self._messaging.observers.remove(self._settled)

    def sent(self, operation: OperationDefinition) -> list[Any]:
        """The payloads published on ``operation`` (matched by name), in order."""
        return [p.payload for p in self.published if p.operation.name == operation.name]

    async def publish(
        self,
        operation: OperationDefinition,
        payload: Any,
        *,
        parameters: Mapping[str, str | None] | None = None,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> str | None:
        """Publish ``payload`` as a producer would; by default wait until a consumer
        of this service settled it. With the outbox on, the message is committed
        in a transaction of the service's database and relayed, as the service's
        own are.

        Returns:
            ``"ack"`` (the handler returned) or ``"dead_letter"``; None when
            ``wait`` is false.

        Raises:
            AssertionError: no consumer of the service settled it within ``timeout``.
        """
        message_id = uuid.uuid4().hex
        settled: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = settled
        try:
            async with self._unit():
                await self._messaging.publisher.publish(
                    operation, payload, parameters=parameters, key=key, headers=headers, message_id=message_id
                )
            if not wait:
                return None
            try:
                async with asyncio.timeout(timeout):
                    return await settled
            except TimeoutError:
                raise AssertionError(
                    f"no consumer of {self._service.name} settled the message published on "
                    f"{operation.name} within {timeout}s"
                ) from None
        finally:
            self._waiting.pop(message_id, None)

    def _unit(self) -> AbstractAsyncContextManager[object]:
        # The outbox refuses a publish outside a transaction (messaging.outbox.outside_transaction).
        if self._messaging.publisher.outbox is None:
            return nullcontext()
        return self._service.database.transaction()

    async def dead_letters(
        self, operation: OperationDefinition, *, limit: int = 100
    ) -> list[OutgoingMessage]:
        """The dead letters of this service's consumer of ``operation`` (a receive operation)."""
        return await self._messaging.dead_letters(operation, limit=limit)

    def _record(self, operation: OperationDefinition, payload: Any, message: OutgoingMessage) -> None:
        self.published.append(Published(operation, payload, message))

    def _settled(self, operation: OperationDefinition, delivery: Delivery, outcome: str) -> None:
        waiter = self._waiting.get(delivery.message_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)
