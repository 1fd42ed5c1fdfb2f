"""t.messages: publish to a service's consumers in a test, assert on what its handlers published."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from microlib import Service
from microlib.core.errors import InvalidArgument
from microlib.messaging import Action, MessageContext, OperationDefinition
from microlib.testing import TestService
from tests.messaging.contract import OrderCancelled, OrderPlaced, message, orders, placed


class StockReserved(BaseModel):
    """What the stock service publishes once it reserved an order's books."""

    order_id: str
    books: int


def stock_service(prefix: str) -> tuple[Service, Any, OperationDefinition]:
    """A service consuming order events and publishing StockReserved for each."""
    contract = orders(prefix)
    reserved = OperationDefinition(
        name="stockReserved",
        python_name="stock_reserved",
        action=Action.SEND,
        channel="stockReserved",
        address=f"{prefix}.stock.reserved",
        messages=(message(StockReserved),),
    )
    service = Service("stock")

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            if payload.order_id == "bad":
                raise InvalidArgument("no such order")
            books = sum(line.qty for line in payload.lines)
            await service.publisher.publish(reserved, StockReserved(order_id=payload.order_id, books=books))

    service.include(Stock())
    return service, contract, reserved


REAL = [
    pytest.param([], False, id="memory"),
    pytest.param(
        ["messaging.url=redis://127.0.0.1:6379/0", "messaging.consumers.onOrder.parameters.region=eu"],
        True,
        id="redis",
        marks=pytest.mark.connected,
    ),
]


@pytest.mark.parametrize(("overrides", "with_real"), REAL)
async def test_publish_to_a_consumer_and_assert_on_what_it_published(
    overrides: list[str], with_real: bool
) -> None:
    """The same test body, on the in-memory broker and on a real one: publishing waits
    until the consumer settled the message, and what the handler published is recorded."""
    service, contract, reserved = stock_service(f"t{uuid.uuid4().hex[:8]}")
    async with TestService(service, overrides=overrides, with_real=with_real) as t:
        outcome = await t.messages.publish(
            contract.place_order, placed("o-1", qty=3), parameters={"region": "eu"}
        )
        assert outcome == "ack"
        assert t.messages.sent(reserved) == [StockReserved(order_id="o-1", books=3)]
        (published,) = [p for p in t.messages.published if p.operation.name == "stockReserved"]
        assert published.message.address.endswith(".stock.reserved")
        assert service.messaging.settings.url.startswith("redis://" if with_real else "memory://test-")


async def test_a_poison_message_is_reported_as_dead_lettered() -> None:
    """A message the handler refuses settles as a dead letter, readable through t.messages."""
    service, contract, reserved = stock_service(f"t{uuid.uuid4().hex[:8]}")
    async with TestService(service) as t:
        outcome = await t.messages.publish(contract.place_order, placed("bad"), parameters={"region": "eu"})
        assert outcome == "dead_letter"
        (letter,) = await t.messages.dead_letters(contract.on_order)
        assert letter.headers["x-microlib-error"] == "no such order"
        assert t.messages.sent(reserved) == []


async def test_publish_fails_clearly_when_no_consumer_settles_it() -> None:
    """Waiting for a message no consumer of the service receives ends in an AssertionError
    naming the operation; without waiting, publish returns at once."""
    service, _, reserved = stock_service(f"t{uuid.uuid4().hex[:8]}")
    async with TestService(service) as t:
        assert await t.messages.publish(reserved, StockReserved(order_id="o", books=1), wait=False) is None
        with pytest.raises(AssertionError, match="settled the message published on stockReserved"):
            await t.messages.publish(reserved, StockReserved(order_id="o", books=1), timeout=0.2)


async def test_messages_needs_a_service_with_messaging() -> None:
    """t.messages on a service without messaging says what to do."""
    async with TestService(Service("plain")) as t:
        with pytest.raises(RuntimeError, match="needs a started service with messaging"):
            t.messages  # noqa: B018
