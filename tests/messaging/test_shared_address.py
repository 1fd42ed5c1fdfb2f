"""Receive operations of one address carrying different messages (AsyncAPI 3's channel
with an operation per message): each message reaches the operation carrying it, once,
on every broker, whether each operation reads a queue of its own or they share one."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import pytest

from microlib import Service
from microlib.messaging import Action, ApplicationDefinition, MessageContext, OperationDefinition
from microlib.messaging.broker import REPLAY_HEADER, Delivery, OutgoingMessage
from microlib.messaging.codec import MESSAGE_HEADER
from microlib.testing import TestService
from tests.messaging.contract import FAST, OrderCancelled, OrderPlaced, eventually, message, placed
from tests.messaging.test_rabbit import RABBIT_URL
from tests.messaging.test_redis import REDIS_URL


def _shop(
    prefix: str, bindings: Mapping[str, Mapping[str, Any]], *, split: bool = False
) -> tuple[ApplicationDefinition, type[Any]]:
    """``onPlaced`` and ``onCancelled`` receive on ``<prefix>.orders``, each one message of
    the channel; ``sendOrder`` sends either. ``split``: each has a channel of its own
    (``<prefix>.orders.placed``, ``<prefix>.orders.cancelled``) that the bindings put in one
    place (one Kafka topic, one RabbitMQ queue), each sent by its own operation."""
    placed_op = OperationDefinition(
        name="onPlaced",
        python_name="on_placed",
        action=Action.RECEIVE,
        channel="orders",
        address=f"{prefix}.orders.placed" if split else f"{prefix}.orders",
        messages=(message(OrderPlaced),),
        bindings=bindings,
        retry=FAST,
    )
    cancelled_op = dataclasses.replace(
        placed_op,
        name="onCancelled",
        python_name="on_cancelled",
        messages=(message(OrderCancelled),),
        address=f"{prefix}.orders.cancelled" if split else placed_op.address,
    )
    send = dataclasses.replace(
        placed_op,
        name="sendOrder",
        python_name="send_order",
        action=Action.SEND,
        messages=(message(OrderPlaced), message(OrderCancelled)),
    )
    sends = (send,)
    if split:
        sends = (
            dataclasses.replace(send, messages=placed_op.messages),
            dataclasses.replace(
                send, name="sendCancelled", python_name="send_cancelled", **_carrying(cancelled_op)
            ),
        )

    class ShopConsumer(Protocol):
        async def on_placed(self, payload: OrderPlaced, ctx: MessageContext) -> None: ...

        async def on_cancelled(self, payload: OrderCancelled, ctx: MessageContext) -> None: ...

    application = ApplicationDefinition(
        title="Shop",
        version="1.0.0",
        asyncapi="3.0.0",
        operations={op.name: op for op in (placed_op, cancelled_op, *sends)},
        consumer_protocol=ShopConsumer,
        document={"asyncapi": "3.0.0", "info": {"title": "Shop", "version": "1.0.0"}},
    )
    ShopConsumer.__microlib_asyncapi__ = application  # type: ignore[attr-defined]
    return application, ShopConsumer


def _carrying(operation: OperationDefinition) -> dict[str, Any]:
    return {"address": operation.address, "messages": operation.messages}


def _kafka(bootstrap: str) -> str:
    return f"kafka://{bootstrap}"


BROKERS = {
    # name: (the URL, from the Kafka bootstrap; the operations' bindings, from the address prefix;
    # whether each operation has a channel of its own)
    "memory": (lambda _: f"memory://{uuid.uuid4().hex}", lambda _: {}, False),
    "rabbit, a queue each": (lambda _: RABBIT_URL, lambda _: {}, False),
    "rabbit, one queue (is: queue)": (lambda _: RABBIT_URL, lambda _: {"amqp": {"is": "queue"}}, False),
    "redis, a group each": (lambda _: REDIS_URL, lambda _: {}, False),
    "kafka, one group (groupId)": (
        _kafka,
        lambda _: {"kafka": {"groupId": {"type": "string", "enum": ["shop"]}}},
        False,
    ),
    # Two channels, two addresses, one place the broker reads: each operation used to
    # dead-letter the other's messages.
    "kafka, two channels of one topic": (_kafka, lambda p: {"kafka": {"topic": f"{p}.orders"}}, True),
    "kafka, two channels of one topic, one group": (
        _kafka,
        lambda p: {"kafka": {"topic": f"{p}.orders", "groupId": {"type": "string", "enum": [f"{p}"]}}},
        True,
    ),
    "rabbit, two channels of one queue (is: queue)": (
        lambda _: RABBIT_URL,
        lambda p: {"amqp": {"is": "queue", "queue": {"name": f"{p}.orders"}}},
        True,
    ),
}


async def _publish_bare(service: Service, send: OperationDefinition, body: str) -> None:
    message = OutgoingMessage(address=send.address, body=body.encode(), message_id=uuid.uuid4().hex)
    await service.messaging.broker.publish(send, message)


@pytest.mark.connected
@pytest.mark.parametrize("broker", list(BROKERS))
async def test_each_message_reaches_the_operation_carrying_it_once(
    broker: str, request: pytest.FixtureRequest
) -> None:
    """Named by its header or, from a producer other than microlib, told by its payload,
    each message is handled once by its own operation; none is dead-lettered by the other."""
    url_of, bindings_of, split = BROKERS[broker]
    bootstrap = request.getfixturevalue("kafka_bootstrap") if broker.startswith("kafka") else ""
    prefix = f"s{uuid.uuid4().hex[:8]}"
    application, consumer = _shop(prefix, bindings_of(prefix), split=split)
    handled: list[tuple[str, str]] = []

    class Shop(consumer):  # type: ignore[valid-type,misc]
        async def on_placed(self, payload: OrderPlaced, ctx: MessageContext) -> None:
            handled.append(("onPlaced", payload.order_id))

        async def on_cancelled(self, payload: OrderCancelled, ctx: MessageContext) -> None:
            handled.append(("onCancelled", payload.order_id))

    service = Service("shop")
    service.include(Shop())
    settled: list[tuple[str, str, str]] = []

    def record(operation: OperationDefinition, delivery: Delivery, outcome: str) -> None:
        settled.append((operation.name, delivery.body.decode(), outcome))

    async with TestService(service, overrides=[f"messaging.url={url_of(bootstrap)}"], with_real=True) as t:
        service.messaging.observers.append(record)
        send = application.operations["sendOrder"]
        cancel = application.operations.get("sendCancelled", send)
        # Placed twice, then cancelled twice, so a queue both read (round robin) hands
        # each operation one of the other's. Without the x-microlib-message header
        # (a producer other than microlib), the payload tells which message it is.
        await t.messages.publish(send, placed("p-1"), wait=False)
        await _publish_bare(service, send, placed("p-2").model_dump_json())
        await t.messages.publish(cancel, OrderCancelled(order_id="c-1", reason="late"), wait=False)
        await _publish_bare(service, cancel, '{"order_id": "c-2", "reason": "gone"}')
        expected = [("onCancelled", "c-1"), ("onCancelled", "c-2"), ("onPlaced", "p-1"), ("onPlaced", "p-2")]
        await eventually(lambda: sorted(handled) == expected, what=f"each message handled, got {handled}")
        await asyncio.sleep(0.5)  # time for a wrong dead letter or a second handling to show
    assert sorted(handled) == expected
    assert [outcome for *_, outcome in settled] == ["ack"] * 4, settled


async def test_a_dead_letter_replayed_to_a_queue_both_read_is_handled_by_its_operation() -> None:
    """A Kafka groupId both operations give: a replay of one operation's dead letter
    names that operation's queue and may reach the other's consumer, which hands it
    over (rather than dropping it as a replay for another group)."""
    _, consumer = _shop(f"s{uuid.uuid4().hex[:8]}", {})
    handled: list[str] = []

    class Shop(consumer):  # type: ignore[valid-type,misc]
        async def on_placed(self, payload: OrderPlaced, ctx: MessageContext) -> None:
            handled.append(f"placed {payload.order_id}")

        async def on_cancelled(self, payload: OrderCancelled, ctx: MessageContext) -> None:
            handled.append(f"cancelled {payload.order_id}")

    service = Service("shop")
    service.include(Shop())
    async with TestService(service, overrides=[f"messaging.url=memory://{uuid.uuid4().hex}"], with_real=True):
        placed_consumer, cancelled_consumer = service.messaging._running  # type: ignore[attr-defined]
        # As on Kafka with one groupId: the two read one source.
        placed_consumer.share_address([(cancelled_consumer, True)])
        acked: list[str] = []

        async def ack() -> None:
            acked.append("ack")

        async def dead_letter(headers: Mapping[str, str]) -> None:
            acked.append("dead letter")

        delivery = Delivery(
            placed_consumer.operation.address,
            b'{"order_id": "c-9", "reason": "late"}',
            {MESSAGE_HEADER: "OrderCancelled", REPLAY_HEADER: cancelled_consumer.queue},
            on_ack=ack,
            on_requeue=ack,
            on_dead_letter=dead_letter,
            message_id="m-9",
        )
        await placed_consumer._handle(delivery)
    assert (handled, acked) == (["cancelled c-9"], ["ack"])
