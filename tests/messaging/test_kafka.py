"""The shared broker cases on Kafka (noida-db, started for the session)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from microlib import Service
from microlib.core import StartupError
from microlib.core.errors import Unavailable
from microlib.messaging import MessageContext, register_document
from microlib.testing import TestService
from tests.messaging.cases import BrokerCases
from tests.messaging.conftest import _free_port, noida
from tests.messaging.contract import (
    OrderCancelled,
    OrderPlaced,
    eventually,
    orders,
    placed,
    stock_on,
)


@pytest.mark.connected
class TestKafkaBroker(BrokerCases):
    """Every case, on Kafka: topics and groups of the test's own."""

    # A consumer's address keeps its {region}: it subscribes by pattern, and finds the topic
    # its test publishes to at the next look (5 s by default).
    settings = ("messaging.topic_refresh=0.2",)
    counts_deliveries = False
    counts_dead_letters = False
    removes_replayed = False

    @pytest.fixture
    def broker_url(self, kafka_bootstrap: str) -> str:
        """The session's Kafka."""
        return f"kafka://{kafka_bootstrap}"


@pytest.mark.connected
async def test_three_consumers_share_partitions_and_survive_a_rebalance(kafka_bootstrap: str) -> None:
    """Three consumers of one group share a three-partition topic: two start and
    consume, a third joins (the group rebalances, partitions move to it), and every
    message is handled, by all three, none lost across the rebalance.

    The rebalance is a member joining: noida-db 0.2.3 elects no new group leader when
    the leader leaves (plain aiokafka consumers show it too), a fault of the test
    broker that would stall any consumer. It also answers a commit made during a
    rebalance with ILLEGAL_GENERATION where Kafka says REBALANCE_IN_PROGRESS, so
    aiokafka rejoins as a new member, and the group can end up waiting for a leader
    that left: the two first consumers are idle (everything handled and committed)
    when the third joins. A consumer leaving with a message in flight is the shared
    crash case.
    """
    contract = orders(f"t{uuid.uuid4().hex[:8]}", bindings={"kafka": {"partitions": 3, "replicas": 1}})
    group = f"g{uuid.uuid4().hex[:8]}"
    handled: dict[str, list[str]] = {"a": [], "b": [], "c": []}

    def consumer(name: str) -> Service:
        class Stock(contract.consumer):  # type: ignore[name-defined,misc]
            async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
                await asyncio.sleep(0.02)
                handled[name].append(payload.order_id)

        service = Service("stock")
        service.include(Stock())
        return service

    settings = [
        f"messaging.url=kafka://{kafka_bootstrap}",
        f"messaging.group={group}",
        "messaging.consumers.onOrder.parameters.region=eu",
        "messaging.prefetch=1",
    ]
    ids: list[str] = []
    services = {name: consumer(name) for name in handled}

    async def publish_until(names: str) -> None:
        """Publish a few messages at a time until each of ``names`` has handled one."""
        for _ in range(300):
            for _ in range(3):
                order_id = f"o-{len(ids)}"
                ids.append(order_id)
                await services["a"].publisher.publish(
                    contract.place_order, placed(order_id), parameters={"region": "eu"}
                )
            if all(handled[name] for name in names):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"not every consumer of {names} got messages: {handled}")

    def everything() -> set[str]:
        return {i for names in handled.values() for i in names}

    async with AsyncExitStack() as stack:
        for name in "ab":
            await stack.enter_async_context(TestService(services[name], overrides=settings))
        await publish_until("ab")
        await eventually(lambda: everything() == set(ids), what="the first messages handled")
        await asyncio.sleep(1)  # their offsets committed by the fetching loops
        await stack.enter_async_context(TestService(services["c"], overrides=settings))
        await publish_until("abc")
        await eventually(lambda: everything() == set(ids), within=60, what="every message handled")
    assert everything() == set(ids)


@pytest.mark.connected
async def test_a_pattern_consumer_finds_a_new_topic_within_topic_refresh(kafka_bootstrap: str) -> None:
    """A consumer whose address keeps a parameter subscribes by pattern; a topic created
    after it started (here by the first publish to ``eu``) is found at its next look for
    topics, ``messaging.topic_refresh`` seconds apart (the default, 5 s, would miss the 4 s)."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    contract = orders(prefix)
    handled: list[str] = []

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            handled.append(ctx.address)

    service = Service("stock")
    service.include(Stock())
    settings = [
        f"messaging.url=kafka://{kafka_bootstrap}",
        f"messaging.group=g{uuid.uuid4().hex[:8]}",
        "messaging.topic_refresh=0.5",
    ]
    async with TestService(service, overrides=settings):
        await service.publisher.publish(contract.place_order, placed(), parameters={"region": "eu"})
        await eventually(lambda: handled, within=4, what="the message to the new topic handled")
    assert handled == [f"{prefix}.orders.eu"]


@pytest.mark.connected
async def test_an_address_that_is_no_kafka_topic_name_fails_at_once_naming_it(kafka_bootstrap: str) -> None:
    """An AsyncAPI address such as ``user/deleted`` (the 2.x examples' style) is no
    Kafka topic name: consuming it fails the start at once, and publishing to it
    fails the publish, each naming the operation, the address and the way out
    (the binding's ``topic``); neither waits for Kafka to time out."""
    contract = orders(f"t{uuid.uuid4().hex[:8]}/v1")
    url = f"messaging.url=kafka://{kafka_bootstrap}"
    expected = (
        r"operation (onOrder|placeOrder): the address 't[0-9a-f]{8}/v1\.orders\.(\{region\}|eu)' is no Kafka "
        r"topic name \(1 to 249 letters, digits, '\.', '_', '-'\): give the channel's kafka binding a topic"
    )

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            return None

    consuming = Service("stock")
    consuming.include(Stock())
    async with asyncio.timeout(5):
        with pytest.raises(StartupError, match=expected):
            async with TestService(consuming, overrides=[url]):
                pass

    publishing = Service("shop")
    publisher = publishing.publisher
    async with asyncio.timeout(5), TestService(publishing, overrides=[url]):
        with pytest.raises(ValueError, match=expected):
            await publisher.publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})

    # A generated publisher built before the start registered its document: its send
    # operations are checked then, so the start fails instead of every publish after it.
    registered = Service("shop")
    register_document(registered.publisher, contract.application)
    async with asyncio.timeout(5):
        with pytest.raises(StartupError, match=expected):
            async with TestService(registered, overrides=[url]):
                pass


@pytest.mark.connected
async def test_a_header_without_a_value_fails_no_record(kafka_bootstrap: str) -> None:
    """Kafka lets a producer send a header with no value (null); such a record is
    handled, the header read as empty, and the records after it too. Reading it
    used to fail the consumer's fetch at every try, on the same record."""
    from aiokafka import AIOKafkaProducer

    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    topic = contract.place_order.resolve({"region": "eu"})
    seen: list[tuple[str, str | None]] = []

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            seen.append((payload.order_id, ctx.headers.get("x-empty")))

    service = Service("stock")
    service.include(Stock())
    settings = [
        f"messaging.url=kafka://{kafka_bootstrap}",
        f"messaging.group=g{uuid.uuid4().hex[:8]}",
        "messaging.consumers.onOrder.parameters.region=eu",
    ]
    async with TestService(service, overrides=settings, with_real=True):
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                topic, placed("o-1").model_dump_json().encode(), headers=[("x-empty", None)]
            )
        finally:
            await producer.stop()
        await service.publisher.publish(contract.place_order, placed("o-2"), parameters={"region": "eu"})
        await eventually(lambda: len(seen) == 2, within=30, what="both records handled")
    assert seen == [("o-1", ""), ("o-2", None)]


@pytest.mark.parametrize(
    "starting",
    [
        pytest.param(lambda broker: broker.start(), id="the producer"),
        pytest.param(lambda broker: broker.dead_letters("orders"), id="a dead-letter reader"),
    ],
)
async def test_a_start_cancelled_while_kafka_does_not_answer_leaves_no_connection_open(
    starting: Callable[[Any], Awaitable[object]],
) -> None:
    """A client cancelled while it is still bootstrapping (the broker took the
    connection and answers nothing): a service stopped while its producer starts,
    or `microlib messages dlq` interrupted. Its connection is closed, not left to
    the garbage collector."""
    from microlib.config.model import MessagingSettings
    from microlib.messaging.kafka import KafkaBroker

    accepted: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append((reader, writer))

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = MessagingSettings(url=f"kafka://127.0.0.1:{port}", connect_timeout=30)
    try:
        task = asyncio.ensure_future(starting(KafkaBroker(settings, client_name="cancelled")))
        await eventually(lambda: bool(accepted), what="the client's connection")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(5):
            for reader, _ in accepted:
                await reader.read()  # returns at the client's close; hangs while it stays open
    finally:
        for _, writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.mark.connected
@pytest.mark.parametrize("cut_short", [False, True], ids=["waited out", "cancelled"])
async def test_a_consumer_that_cannot_leave_its_group_in_time_leaves_nothing_running(
    kafka_bootstrap: str, cut_short: bool
) -> None:
    """Leaving the group waits for the coordinator (here Kafka holds the LeaveGroup
    request unanswered): past the bounded wait, or when the service's stop timeout
    cancels the broker's stop first, the consumer's connections are closed, and its
    fetcher and group tasks end with them, so none of them opens a new connection
    after the broker stopped (one left to the garbage collector:
    ``ResourceWarning: unclosed <socket>``)."""
    from microlib.config.model import MessagingSettings
    from microlib.messaging.broker import OutgoingMessage
    from microlib.messaging.kafka import KafkaBroker
    from tests.scale.kafka_proxy import LEAVE_GROUP, KafkaProxy

    proxy = KafkaProxy(kafka_bootstrap, held=frozenset({LEAVE_GROUP})).start()
    try:
        contract = orders(f"t{uuid.uuid4().hex[:8]}", bindings={"kafka": {"partitions": 1}})
        topic = contract.on_order.address.replace("{region}", "eu")
        broker = KafkaBroker(MessagingSettings(url=f"kafka://{proxy.bootstrap}"), client_name="held")
        await broker.start()
        subscription, _ = [
            await broker.subscribe(
                contract.on_order, group=f"g{uuid.uuid4().hex[:8]}", address=topic, prefetch=1
            )
            for _ in range(2)  # the second left, or given up, after the first
        ]
        await broker.publish(
            contract.place_order, OutgoingMessage(address=topic, body=b"{}", message_id="m-1")
        )
        deliveries = aiter(subscription)
        async with asyncio.timeout(30):
            delivery = await anext(deliveries)
        await delivery.ack()
        fetching = asyncio.create_task(anext(deliveries))  # the fetcher polls on (nothing left)
        await asyncio.sleep(0)
        await subscription.stop()
        with pytest.raises(StopAsyncIteration):
            await fetching
        if cut_short:
            stopping = asyncio.create_task(broker.stop())
            await eventually(lambda: proxy.held_requests > 0, what="the LeaveGroup request held")
            stopping.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stopping
        else:
            await broker.stop()
        assert {task for task in asyncio.all_tasks() if task is not asyncio.current_task()} == set()
        await eventually(lambda: proxy.clients == 0, what="every connection to Kafka closed")
    finally:
        proxy.stop()


@pytest.mark.connected
async def test_a_kafka_outage_logs_one_warning_as_it_starts_and_one_line_as_it_ends(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A Kafka of the test's own stops for 6 s under a consuming, publishing service, and
    comes back on the same port and data: the log says it once as the outage starts (a
    warning naming the broker, its setting and aiokafka's first error) and once as Kafka
    answers again (info, with how many errors it held), and no aiokafka warning or error
    in between. Before, aiokafka's tasks wrote an error line for each failed attempt
    (about a hundred for this one consumer in 6 s, as many more for each other one)."""
    port, data = _free_port(), tmp_path_factory.mktemp("noida-outage")
    stock = stock_on(f"kafka://127.0.0.1:{port}")
    contract, handled, service, settings = stock.contract, stock.handled, stock.service, stock.settings
    answered = "Kafka answers again"
    async with AsyncExitStack() as stack:
        with noida(port, data):
            t = await stack.enter_async_context(TestService(service, overrides=settings))
            await service.publisher.publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})
            await eventually(lambda: handled == ["o-1"], what="the first message handled")
        await asyncio.sleep(6)  # the outage
        with noida(port, data):
            await service.publisher.publish(contract.place_order, placed("o-2"), parameters={"region": "eu"})
            await eventually(lambda: any(e["event"] == answered for e in t.logs), what="the recovery said")
            await stack.aclose()
    until = next(i for i, e in enumerate(t.logs) if e["event"] == answered) + 1
    said = [e for e in t.logs[:until] if e["level"] in ("warning", "error") or e["event"] == answered]
    [failing, recovered] = said
    assert failing["event"] == "Kafka client failing; its errors are held until Kafka answers"
    assert failing["level"] == "warning"
    assert (failing["broker"], failing["setting"]) == (f"127.0.0.1:{port}", "messaging.url")
    assert failing["source"].startswith("aiokafka")
    assert failing["error"]
    assert recovered["level"] == "info"
    assert (recovered["broker"], recovered["setting"]) == (f"127.0.0.1:{port}", "messaging.url")
    assert recovered["errors_held"] > 0


@pytest.mark.connected
async def test_a_service_stopped_while_kafka_is_down_stops_cleanly(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Kafka goes away under a consuming service, whose health check names it and its setting,
    and which is then stopped: the stop returns, with no error logged, and leaves no task
    running. Before, the check did not name the setting, and aiokafka's fetcher re-raised
    the cancellation of a fetch that waited to retry, out of the consumer's stop and again
    out of closing its connections: the service's stop raised CancelledError, the
    connections were left open."""
    port, data = _free_port(), tmp_path_factory.mktemp("noida-down")
    stock = stock_on(f"kafka://127.0.0.1:{port}")
    contract, handled, service, settings = stock.contract, stock.handled, stock.service, stock.settings
    t = TestService(service, overrides=settings)
    with noida(port, data):
        await t.__aenter__()
        await service.publisher.publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})
        await eventually(lambda: handled == ["o-1"], what="the first message handled")
    failing = "Kafka client failing; its errors are held until Kafka answers"
    await eventually(lambda: any(e["event"] == failing for e in t.logs), what="the fetcher failing")
    with pytest.raises(Unavailable) as down:
        await service.component("messaging").check()
    await t.__aexit__(None, None, None)
    assert str(down.value).startswith(f"Kafka at 127.0.0.1:{port} (messaging.url): "), str(down.value)
    assert [e for e in t.logs if e["level"] in ("error", "critical")] == []
    assert {task for task in asyncio.all_tasks() if task is not asyncio.current_task()} == set()
