"""The shared broker cases on RabbitMQ (the server on 127.0.0.1:5672, guest/guest)."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aio_pika
import aiormq
import pytest

from microlib import Service
from microlib.core import StartupError
from microlib.core.errors import InvalidArgument, Unavailable
from microlib.messaging import MessageContext, OutgoingMessage
from microlib.testing import TestService
from tests.forwarder import forwarding
from tests.messaging.cases import BrokerCases
from tests.messaging.conftest import _free_port
from tests.messaging.contract import OrderCancelled, OrderPlaced, eventually, orders, placed, stock_on

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
@pytest.mark.stops_servers
async def test_broker_restart_during_consumption_loses_nothing() -> None:
    """RabbitMQ stopping and starting again (rabbitmqctl stop_app, start_app) while
    messages are being handled loses none: readiness goes down meanwhile, the robust
    connection comes back and resumes consuming (once: the messages published
    afterwards are handled, by one consumer), and the messages whose
    acknowledgement was lost are delivered again."""
    group = f"g{uuid.uuid4().hex[:10]}"
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    handled: list[str] = []

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            await asyncio.sleep(0.05)
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
            later = [f"o-{i}" for i in range(60, 70)]
            for order_id in later:
                await service.publisher.publish(
                    contract.place_order, placed(order_id), parameters={"region": "eu"}
                )
            await eventually(lambda: set(handled) == {*ids, *later}, what="consuming resumed")
            assert await messages_left(f"{group}.onOrder") == 0
            assert await consumers_of(f"{group}.onOrder") == 1
    finally:
        await delete_queues(f"{group}.onOrder", f"{group}.onOrder.dlq")


async def consumers_of(queue: str) -> int | None:
    """The consumers of ``queue`` (None: there is no such queue)."""
    connection = await aio_pika.connect(RABBIT_URL)
    async with connection:
        try:
            declared = await (await connection.channel()).declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            return None
        return int(declared.declaration_result.consumer_count or 0)


@pytest.mark.connected
async def test_a_queue_deleted_under_its_consumer_is_declared_again_and_consumed() -> None:
    """RabbitMQ cancelling the consumer (basic.cancel: its queue was deleted) does not
    stop it silently: as aio-pika's robust queue does, the queue is declared again
    with its binding and consumed again, once, and the messages published to it
    afterwards are handled."""
    group = f"g{uuid.uuid4().hex[:10]}"
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    handled: list[str] = []

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            handled.append(payload.order_id)

    service = Service("stock")
    service.include(Stock())
    settings = [f"messaging.url={RABBIT_URL}", f"messaging.group={group}", "messaging.reconnect_backoff=0.5"]
    queue = f"{group}.onOrder"
    try:
        async with TestService(service, overrides=settings):
            publish = service.publisher.publish
            await publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})
            await eventually(lambda: handled == ["o-1"], what="the first message handled")
            await delete_queues(queue)

            async def consumed_again() -> bool:
                return await consumers_of(queue) == 1

            await eventually(consumed_again, within=30, what="the queue declared and consumed again")
            await publish(contract.place_order, placed("o-2"), parameters={"region": "eu"})
            await eventually(lambda: handled == ["o-1", "o-2"], what="a message published afterwards handled")
            assert (await service.health.report("readiness")).up
            assert await consumers_of(queue) == 1
    finally:
        await delete_queues(queue, f"{queue}.dlq")


@pytest.mark.connected
async def test_a_queue_named_by_an_address_with_a_parameter_left_fails_the_start_naming_it() -> None:
    """``is: queue`` consumes the one queue its address names (rpc-client.yml's ``{queue}``):
    a parameter left in it fails the start naming the operation and the settings that
    fix it, not aiormq's "Invalid value for queue"."""
    contract = orders(f"q{uuid.uuid4().hex[:8]}", bindings={"amqp": {"is": "queue"}})

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            return None

    service = Service("stock")
    service.include(Stock())
    expected = (
        r"RabbitMQ cannot consume the pattern 'q[0-9a-f]{8}\.orders\.\{region\}' as one queue \(is: queue\): "
        r"set messaging.consumers.onOrder.parameters for \['region'\], or the binding's queue.name"
    )
    with pytest.raises(StartupError, match=expected):
        async with TestService(service, overrides=[f"messaging.url={RABBIT_URL}"], with_real=True):
            pass


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
    multiples: list[int] = []
    acked: list[int] = []
    ack = aiormq.Channel.basic_ack

    async def recorded(
        self: aiormq.Channel, delivery_tag: int, multiple: bool = False, wait: bool = True
    ) -> None:
        acked.append(delivery_tag)
        if multiple:
            multiples.append(delivery_tag)
        await ack(self, delivery_tag, multiple, wait)

    monkeypatch.setattr(aiormq.Channel, "basic_ack", recorded)
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
        assert len(acked) == len(ids)  # the poison ones acknowledged once dead-lettered
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


class _Settling:
    """An aiormq channel that records the settlements sent on it."""

    def __init__(self, *, closed: bool = False) -> None:
        self.is_closed = closed
        self.connection = self  # IncomingMessage.nack asks the connection for basic.nack
        self.basic_nack_supported = True
        self.sent: list[tuple[str, dict[str, Any]]] = []

    @property
    def basic_nack(self) -> Any:
        """aiormq's connection flag (basic.nack supported) and channel method, at once."""
        return self._nack

    async def basic_ack(self, *args: Any, **kwargs: Any) -> None:
        self.sent.append(("ack", _bound(aiormq.Channel.basic_ack, args, kwargs)))

    async def _nack(self, *args: Any, **kwargs: Any) -> None:
        self.sent.append(("nack", _bound(aiormq.Channel.basic_nack, args, kwargs)))

    async def basic_reject(self, *args: Any, **kwargs: Any) -> None:
        self.sent.append(("reject", _bound(aiormq.Channel.basic_reject, args, kwargs)))


def _bound(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    call = inspect.signature(method).bind(None, *args, **kwargs)
    call.apply_defaults()
    return {**call.arguments, "self": None}


class _Broker:
    """What a subscription asks of its broker to dead-letter: the publishing channel."""

    def __init__(self) -> None:
        self.channel = _Recorder()

    def _publishing(self) -> _Recorder:
        return self.channel


def _delivered(case: int, channel: _Settling) -> Any:
    """One of many deliveries as aiormq hands them over, told apart by ``case``."""
    from pamqp.header import ContentHeader

    headers: list[dict[str, Any] | None] = [
        None,
        {},
        {"x-microlib-key": "k-1", "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
        {"x-delivery-count": 3, "x-microlib-message": "OrderPlaced"},
        {"x-delivery-count": "x", "raw": b"bytes", "n": 7, "x-microlib-original-address": "a.b"},
    ]
    picks, rest = [], case
    for n in (len(headers), 2, 3, 2, 3, 2, 3):
        picks.append(rest % n)
        rest //= n
    header, redelivered, message_id, key, correlation_id, routing_key, content_type = picks
    properties = aiormq.spec.Basic.Properties(
        headers=headers[header],
        message_id=(None, "", "m-1")[message_id],
        correlation_id=(None, "c-1", "")[correlation_id],
        reply_to=(None, "replies.x")[key],
        content_type=(None, "application/json", "text/plain")[content_type],
        delivery_mode=2,
    )
    body = b'{"order_id":"o-%d"}' % case
    return aiormq.abc.DeliveredMessage(
        delivery=aiormq.spec.Basic.Deliver(
            consumer_tag="ctag",
            delivery_tag=1 + case,
            redelivered=bool(redelivered),
            exchange="amq.topic",
            routing_key=("orders.eu", "")[routing_key],
        ),
        header=ContentHeader(body_size=len(body), properties=properties),
        body=body,
        channel=channel,
    )


def _as_aio_pika_had_it(incoming: aio_pika.IncomingMessage) -> dict[str, Any]:
    """The delivery the consumer made of aio-pika's ``IncomingMessage`` before it
    consumed on the underlying channel."""
    from microlib.messaging.rabbit import KEY_HEADER, _text

    headers = {k: v if type(v) is str else _text(v) for k, v in (incoming.headers or {}).items()}
    previous = headers.get("x-delivery-count")
    count = (
        int(previous) + 1 if previous is not None and previous.isdigit() else 2 if incoming.redelivered else 1
    )
    return {
        "address": incoming.routing_key or "",
        "body": incoming.body,
        "key": headers.pop(KEY_HEADER, None),
        "headers": headers,
        "message_id": incoming.message_id or "",
        "correlation_id": incoming.correlation_id,
        "reply_to": incoming.reply_to,
        "delivery_count": count,
        "redelivered": bool(incoming.redelivered),
        "broker_id": str(incoming.delivery_tag),
    }


async def test_a_delivery_is_what_aio_pika_s_incoming_message_made() -> None:
    """A delivery made straight from aiormq's message has, field for field, what the
    one made from aio-pika's ``IncomingMessage`` had; it is acknowledged, given back
    and dead-lettered with the frames ``IncomingMessage`` sends (the letter as the
    dead letters read it back), and, its channel closed, fails alike."""
    from microlib.messaging.rabbit import _DEFAULT, _headers, _outgoing, _publish, _RabbitSubscription

    broker = _Broker()
    subscription = _RabbitSubscription(broker, None, None, "q.dlq", ())  # type: ignore[arg-type]
    for case in range(5 * 2 * 3 * 2 * 3 * 2 * 3):
        for settle in ("ack", "nack", "dead_letter", "closed"):
            fast_channel, general_channel = _Settling(), _Settling()
            delivery = subscription._deliver(_delivered(case, fast_channel))
            incoming = aio_pika.IncomingMessage(_delivered(case, general_channel))
            fields = {name: getattr(delivery, name) for name in _as_aio_pika_had_it(incoming)}
            assert fields == _as_aio_pika_had_it(incoming)
            if settle == "ack":
                await delivery.on_ack()
                await incoming.ack()
            elif settle == "nack":
                await delivery.on_requeue()
                await incoming.nack(requeue=True)
            elif settle == "dead_letter":
                extra = {"x-microlib-error": "bad", "traceparent": "over"}
                await delivery.on_dead_letter(extra)
                letter = _outgoing(incoming.body, incoming, _headers(incoming.headers), delivery.address)
                general = _Recorder()
                await _publish(general, _DEFAULT, "q.dlq", letter, extra)  # type: ignore[arg-type]
                await incoming.ack()
                assert [_as_sent(p) for p in broker.channel.published] == [
                    _as_sent(p) for p in general.published
                ]
                broker.channel.published.clear()
            else:
                fast_channel.is_closed = general_channel.is_closed = True
                for fast, reference in (
                    (delivery.on_ack, incoming.ack),
                    (delivery.on_requeue, incoming.nack),
                ):
                    with pytest.raises(aio_pika.exceptions.ChannelInvalidStateError):
                        await reference()
                    with pytest.raises(aio_pika.exceptions.ChannelInvalidStateError):
                        await fast()
            assert fast_channel.sent == general_channel.sent


async def test_a_delivery_reaches_its_consumer_as_its_frames_are_read() -> None:
    """aiormq calls the consumer callback in its frame reader and runs what it returns
    in a task of its own: the delivery is handed over in that call, so the handler's
    task starts on the loop's next turn, and aiormq's task (cancelled with the
    channel) never runs a handler. A stopped subscription's returned work gives the
    delivery back."""
    from microlib.messaging.rabbit import _RabbitSubscription

    subscription = _RabbitSubscription(_Broker(), None, None, "q.dlq", ())  # type: ignore[arg-type]
    handed: list[str] = []
    subscription.dispatch(lambda delivery: handed.append(delivery.broker_id))
    channel = _Settling()
    returned = subscription._received(_delivered(1, channel))
    assert handed == ["2"]
    await returned
    assert handed == ["2"]
    assert channel.sent == []

    subscription._stopped = True
    await subscription._received(_delivered(2, channel))
    assert handed == ["2"]
    assert [(name, sent["requeue"]) for name, sent in channel.sent] == [("nack", True)]


async def test_a_delivery_that_cannot_be_read_is_rejected_to_the_dead_letters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A delivery microlib fails to read never raises into aiormq's frame reader (which
    would close the channel): it is logged and rejected without requeue, so RabbitMQ
    moves it to the queue's dead letters, and the next delivery is handed over, on
    each of the three ways deliveries are handed over."""
    from microlib.messaging.rabbit import _RabbitSubscription

    class Unreadable(_RabbitSubscription):
        def _deliver(self, message: Any) -> Any:
            if message.delivery.delivery_tag == 1:
                raise ValueError("unreadable")
            return super()._deliver(message)

    def subscription() -> Any:
        queue = type("Queue", (), {"name": "q"})()
        return Unreadable(_Broker(), None, queue, "q.dlq", ())  # type: ignore[arg-type]

    async def rejected(channel: _Settling) -> list[tuple[str, int, bool]]:
        await asyncio.sleep(0)  # the reject runs in a task of its own
        return [(name, sent["delivery_tag"], sent["requeue"]) for name, sent in channel.sent]

    handed: list[str] = []
    dispatching, channel = subscription(), _Settling()
    dispatching.dispatch(lambda delivery: handed.append(delivery.broker_id))
    await dispatching._received(_delivered(0, channel))
    await dispatching._received(_delivered(1, channel))
    assert handed == ["2"]
    assert await rejected(channel) == [("reject", 1, False)]
    assert "unreadable: rejected to q.dlq" in caplog.text

    buffered, channel = subscription(), _Settling()
    await buffered._received(_delivered(0, channel))
    await buffered._received(_delivered(1, channel))
    handed.clear()
    buffered.dispatch(lambda delivery: handed.append(delivery.broker_id))
    assert handed == ["2"]
    assert await rejected(channel) == [("reject", 1, False)]

    iterated, channel = subscription(), _Settling()
    await iterated._received(_delivered(0, channel))
    await iterated._received(_delivered(1, channel))
    assert (await anext(aiter(iterated))).broker_id == "2"
    assert await rejected(channel) == [("reject", 1, False)]


@pytest.mark.connected
async def test_a_header_in_bad_utf8_is_read_with_replacement_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A producer's header value in bytes that are not UTF-8 (a long string, as a Java
    client can send one, or a byte array), or a delivery count in digits ``int`` does
    not read, fails no delivery: the value is read with replacement characters (as
    the Kafka adapter reads its headers), the message is handled, and its consumer's
    channel stays up for the next one."""
    from pamqp import common, encode

    def long_string_of_bytes(value: Any) -> bytes:
        # pamqp writes only str as a long string; this producer writes bytes as one.
        if isinstance(value, bytes):
            return b"S" + common.Struct.integer.pack(len(value)) + value
        return table_value(value)

    table_value = encode.encode_table_value
    monkeypatch.setattr(encode, "encode_table_value", long_string_of_bytes)
    group = f"g{uuid.uuid4().hex[:10]}"
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    seen: list[tuple[str, str | None, str | None, int]] = []

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            seen.append(
                (payload.order_id, ctx.headers.get("x-origin"), ctx.headers.get("x-raw"), ctx.delivery_count)
            )

    service = Service("stock")
    service.include(Stock())
    queue = f"{group}.onOrder"
    try:
        async with TestService(
            service, overrides=[f"messaging.url={RABBIT_URL}", f"messaging.group={group}"]
        ):
            connection = await aio_pika.connect(RABBIT_URL)
            async with connection:
                channel = await connection.channel()
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        placed("o-1").model_dump_json().encode(),
                        headers={
                            "x-origin": b"caf\xe9",
                            "x-raw": bytearray(b"\xff"),
                            "x-delivery-count": "\u00b2",
                        },
                    ),
                    routing_key=queue,
                )
            await service.publisher.publish(contract.place_order, placed("o-2"), parameters={"region": "eu"})
            await eventually(lambda: len(seen) == 2, what="both messages handled")
            assert await consumers_of(queue) == 1
        assert seen == [("o-1", "caf\ufffd", "\ufffd", 1), ("o-2", None, None, 1)]
    finally:
        await delete_queues(queue, f"{queue}.dlq")


async def test_a_delivery_on_a_closed_channel_is_never_handed_out() -> None:
    """A message whose channel closed (its connection died) before it was handed to
    a handler is dropped, not handled nor settled: RabbitMQ delivers it again."""
    from microlib.messaging.rabbit import _RabbitSubscription

    subscription = _RabbitSubscription(_Broker(), None, None, "q.dlq", ())  # type: ignore[arg-type]
    open_channel, closed_channel = _Settling(), _Settling(closed=True)
    # Buffered before dispatching starts: only the open channel's are handed out.
    await subscription._received(_delivered(1, open_channel))
    await subscription._received(_delivered(2, closed_channel))
    handed: list[str] = []
    subscription.dispatch(lambda delivery: handed.append(delivery.broker_id))
    await subscription._received(_delivered(3, closed_channel))
    await subscription._received(_delivered(4, open_channel))
    assert handed == ["2", "5"]
    assert open_channel.sent == closed_channel.sent == []

    iterated = _RabbitSubscription(_Broker(), None, None, "q.dlq", ())  # type: ignore[arg-type]
    await iterated._received(_delivered(1, closed_channel))
    await iterated._received(_delivered(2, open_channel))
    deliveries = aiter(iterated)
    assert (await anext(deliveries)).broker_id == "3"


@pytest.mark.connected
async def test_a_rabbitmq_outage_logs_one_warning_as_it_starts_and_one_line_as_it_ends() -> None:
    """RabbitMQ goes away under a consuming service (the test's forwarder to it is cut) for
    many reconnection attempts, and comes back: the log says it once as the outage starts (a
    warning naming the broker with its password masked, its setting and the driver's first
    error) and once as RabbitMQ answers again (info, with how many errors it held), and no
    aiormq or aio-pika warning or error in between; the consumer resumes; meanwhile the health
    check names the broker and its setting. Before, aiormq logged an error (one with a
    traceback) and aio-pika a warning per attempt, and the check said only that "RabbitMQ"
    was down."""
    port = _free_port()
    quick = ("messaging.reconnect_backoff=0.05", "messaging.reconnect_backoff_max=0.2")
    stock = stock_on(f"amqp://guest:guest@127.0.0.1:{port}/", *quick)
    contract, handled, service, settings = stock.contract, stock.handled, stock.service, stock.settings
    failing = "RabbitMQ client failing; its errors are held until RabbitMQ answers"
    answered = "RabbitMQ answers again"
    try:
        async with AsyncExitStack() as stack:
            cut = await stack.enter_async_context(forwarding(port, to=5672))
            t = await stack.enter_async_context(TestService(service, overrides=settings))
            await service.publisher.publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})
            await eventually(lambda: handled == ["o-1"], what="the first message handled")
            await cut()
            await eventually(lambda: any(e["event"] == failing for e in t.logs), what="the outage said")
            with pytest.raises(Unavailable) as down:
                await service.component("messaging").check()
            await asyncio.sleep(2)  # the outage: a reconnection attempt every 0.2 s at most
            async with forwarding(port, to=5672):
                await eventually(lambda: any(e["event"] == answered for e in t.logs), what="recovery said")
                await service.publisher.publish(
                    contract.place_order, placed("o-2"), parameters={"region": "eu"}
                )
                # o-1 again too when the cut lost its acknowledgement: at least once.
                await eventually(lambda: set(handled) == {"o-1", "o-2"}, what="consuming resumed")
                await stack.aclose()
    finally:
        await delete_queues(f"{stock.group}.onOrder", f"{stock.group}.onOrder.dlq")
    until = next(i for i, e in enumerate(t.logs) if e["event"] == answered) + 1
    said = [e for e in t.logs[:until] if e["level"] in ("warning", "error") or e["event"] == answered]
    [warned, recovered] = said
    assert warned["event"] == failing
    masked = f"amqp://guest:**********@127.0.0.1:{port}/"
    assert (warned["broker"], warned["setting"]) == (masked, "messaging.url")
    assert warned["source"].startswith(("aiormq", "aio_pika"))
    assert warned["error"]
    assert recovered["level"] == "info"
    assert (recovered["broker"], recovered["setting"]) == (masked, "messaging.url")
    assert recovered["errors_held"] > 0
    assert str(down.value).startswith(f"RabbitMQ at {masked} (messaging.url): "), str(down.value)
