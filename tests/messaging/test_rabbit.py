"""The shared broker cases on RabbitMQ (the server on 127.0.0.1:5672, guest/guest)."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import aiormq
import pytest

from microlib import Service
from microlib.core.errors import InvalidArgument
from microlib.messaging import MessageContext, OutgoingMessage
from microlib.testing import TestService
from tests.messaging.cases import BrokerCases
from tests.messaging.contract import OrderCancelled, OrderPlaced, eventually, orders, placed

RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"


async def delete_queues(*names: str) -> None:
    """Delete the queues a test declared (RabbitMQ keeps durable queues for ever)."""
    connection = await aio_pika.connect(RABBIT_URL)
    try:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)
    finally:
        await connection.close()


@pytest.mark.connected
class TestRabbitBroker(BrokerCases):
    """Every case, on RabbitMQ: queues of the test's own group, bound to amq.topic."""

    @pytest.fixture
    def broker_url(self) -> str:
        """The shared RabbitMQ server."""
        return RABBIT_URL

    @pytest.fixture(autouse=True)
    async def _cleanup(self, group: str) -> AsyncIterator[None]:
        """Delete the test's queues afterwards."""
        yield
        names = [f"{g}.{op}" for g in (group, group + "x") for op in ("onOrder", "onStockQuery")]
        await delete_queues(*names, *(f"{n}.dlq" for n in names))


async def messages_left(queue: str) -> int:
    """The messages ready in ``queue`` (unacknowledged ones come back there when their consumer leaves)."""
    connection = await aio_pika.connect(RABBIT_URL)
    async with connection:
        declared = await (await connection.channel()).declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


def rabbitmqctl(command: str) -> None:
    """Run ``rabbitmqctl <command>`` and wait for it."""
    subprocess.run(["rabbitmqctl", "-q", command], check=True, capture_output=True, timeout=120)


@pytest.mark.connected
async def test_broker_restart_during_consumption_loses_nothing() -> None:
    """RabbitMQ stopping and starting again (rabbitmqctl stop_app, start_app) while
    messages are being handled loses none: readiness goes down meanwhile, the robust
    connection comes back and resumes consuming, and the messages whose
    acknowledgement was lost are delivered again."""
    group = f"g{uuid.uuid4().hex[:10]}"
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    handled: list[str] = []

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            await asyncio.sleep(0.02)
            handled.append(payload.order_id)

    service = Service("stock")
    service.include(Stock())
    settings = [
        f"messaging.url={RABBIT_URL}",
        f"messaging.group={group}",
        "messaging.reconnect_backoff=0.5",
        "messaging.prefetch=4",
        "health.cache_ttl=0",
    ]
    ids = [f"o-{i}" for i in range(60)]
    try:
        async with TestService(service, overrides=settings):
            for order_id in ids:
                await service.publisher.publish(
                    contract.place_order, placed(order_id), parameters={"region": "eu"}
                )
            await eventually(lambda: len(handled) >= 10, what="consumption under way")

            async def ready() -> bool:
                return (await service.health.report("readiness")).up

            async def not_ready() -> bool:
                return not await ready()

            try:
                await asyncio.to_thread(rabbitmqctl, "stop_app")
                # The client learns of the closed connection when its loop reads the close.
                await eventually(not_ready, what="readiness down while RabbitMQ is stopped")
            finally:
                await asyncio.to_thread(rabbitmqctl, "start_app")
            await eventually(lambda: set(handled) == set(ids), within=60, what="every message handled")
            await eventually(ready, within=30, what="ready again")
            assert await messages_left(f"{group}.onOrder") == 0
    finally:
        await delete_queues(f"{group}.onOrder", f"{group}.onOrder.dlq")


@pytest.mark.connected
async def test_dead_letters_of_a_queue_never_declared_are_none() -> None:
    """Reading the dead letters of a consumer that never ran finds none, without error."""
    service = Service("orders")
    service.publisher  # noqa: B018
    async with TestService(service, overrides=[f"messaging.url={RABBIT_URL}"], with_real=True):
        assert await service.messaging.broker.dead_letters(f"g{uuid.uuid4().hex}.onOrder") == []


@pytest.mark.connected
async def test_a_burst_settles_each_message_once_whatever_order_its_handlers_end_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Handlers that return together, in any order, with elders still being handled,
    retried or dead-lettered: each message is handled once, never redelivered, the
    poison ones reach the dead letters, and nothing is left in the queue; each
    acknowledgement is a frame of its own, never a ``multiple`` covering others."""
    multiples: list[int | None] = []
    ack = aio_pika.IncomingMessage.ack

    async def recorded(self: aio_pika.IncomingMessage, multiple: bool = False) -> None:
        if multiple:
            multiples.append(self.delivery_tag)
        await ack(self, multiple)

    monkeypatch.setattr(aio_pika.IncomingMessage, "ack", recorded)
    group = f"g{uuid.uuid4().hex[:10]}"
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    done: dict[str, int] = {}
    redelivered: list[str] = []
    failed_once: set[str] = set()

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            n = int(payload.order_id.removeprefix("o-"))
            if ctx.redelivered:
                redelivered.append(payload.order_id)
            if n % 7 == 3:
                await asyncio.sleep(0.05)  # an elder still handled while younger ones return
            if n % 11 == 5:
                raise InvalidArgument("poison")  # straight to the dead letters
            if n % 13 == 4 and payload.order_id not in failed_once:
                failed_once.add(payload.order_id)
                raise RuntimeError("try again")  # retried in place, after a backoff
            done[payload.order_id] = done.get(payload.order_id, 0) + 1

    service = Service("stock")
    service.include(Stock())
    settings = [f"messaging.url={RABBIT_URL}", f"messaging.group={group}", "messaging.prefetch=16"]
    ids = [f"o-{i}" for i in range(120)]
    poison = [i for i in ids if int(i[2:]) % 11 == 5]
    try:
        async with TestService(service, overrides=settings, with_real=True) as t:
            await asyncio.gather(
                *(
                    service.publisher.publish(contract.place_order, placed(i), parameters={"region": "eu"})
                    for i in ids
                )
            )
            await eventually(lambda: len(done) == len(ids) - len(poison), what="every good message handled")
            broker = service.messaging.broker

            async def dead_lettered() -> list[OutgoingMessage] | None:
                found = await broker.dead_letters(f"{group}.onOrder", limit=len(ids))
                return found if len(found) >= len(poison) else None

            letters = await eventually(dead_lettered, what="the poison messages dead-lettered")
            assert sorted(m.message_id for m in letters) == sorted(
                p.message.message_id for p in t.messages.published if p.payload.order_id in poison
            )
        assert set(done.values()) == {1}
        assert redelivered == []
        assert multiples == []
        assert await messages_left(f"{group}.onOrder") == 0
    finally:
        await delete_queues(f"{group}.onOrder", f"{group}.onOrder.dlq")


class _Recorder:
    """A channel that records what is published on it instead of sending it."""

    is_closed = False

    def __init__(self) -> None:
        self.published: list[tuple[bytes, dict[str, Any]]] = []

    async def get_underlay_channel(self) -> _Recorder:
        return self

    async def basic_publish(self, body: bytes, **kwargs: Any) -> None:
        self.published.append((body, kwargs))


def _as_sent(published: tuple[bytes, dict[str, Any]]) -> dict[str, Any]:
    """A publish's arguments to aiormq, defaults included, its properties as the
    bytes pamqp puts on the wire."""
    body, kwargs = published
    call = inspect.signature(aiormq.Channel.basic_publish).bind(None, body, **kwargs)
    call.apply_defaults()
    return {**call.arguments, "self": None, "properties": kwargs["properties"].marshal()}


def _outgoing_messages() -> list[tuple[OutgoingMessage, dict[str, str] | None]]:
    bodies = [b"{}", b'{"order_id":"o-1"}']
    headers: list[dict[str, str]] = [
        {},
        {"x-microlib-message": "OrderPlaced", "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
    ]
    found = []
    for body in bodies:
        for header in headers:
            for key in (None, "", "k-1"):
                for message_id in ("", "m-1"):
                    for correlation_id in (None, "", "c-1"):
                        for reply_to in (None, "", "replies.x"):
                            for content_type in ("application/json", "", "text/plain"):
                                message = OutgoingMessage(
                                    address="orders.eu",
                                    body=body,
                                    headers=header,
                                    key=key,
                                    message_id=message_id,
                                    correlation_id=correlation_id,
                                    content_type=content_type,
                                    reply_to=reply_to,
                                )
                                for extra in (None, {}, {"x-microlib-error": "bad", "traceparent": "over"}):
                                    found.append((message, extra))
    return found


async def test_a_publish_sends_what_aio_pika_s_exchange_would_send() -> None:
    """Publishing on the underlying channel with the properties built directly sends,
    frame for frame, what ``Exchange.publish(aio_pika.Message(...))`` sends for the
    same message (and fails alike on a closed channel)."""
    from microlib.messaging.rabbit import KEY_HEADER, _publish

    for message, extra in _outgoing_messages():
        fast, general = _Recorder(), _Recorder()
        await _publish(fast, "amq.topic", message.address, message, extra)  # type: ignore[arg-type]
        headers: dict[str, Any] = {**message.headers, **(extra or {})}
        if message.key is not None:
            headers[KEY_HEADER] = message.key
        reference = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            message_id=message.message_id or None,
            correlation_id=message.correlation_id,
            reply_to=message.reply_to,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        exchange = aio_pika.Exchange(general, "amq.topic", aio_pika.ExchangeType.TOPIC)  # type: ignore[arg-type]
        await exchange.publish(reference, routing_key=message.address)
        assert [_as_sent(p) for p in fast.published] == [_as_sent(p) for p in general.published]
        assert fast.published[0][1]["properties"] == general.published[0][1]["properties"]

    closed = _Recorder()
    closed.is_closed = True
    with pytest.raises(aio_pika.exceptions.ChannelInvalidStateError):
        await _publish(closed, "", "q", OutgoingMessage(address="q", body=b"{}"))  # type: ignore[arg-type]
