"""The shared broker cases on Redis Streams (the server on 127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from microlib import Service
from microlib.core.errors import Unavailable
from microlib.messaging import MessageContext, OutgoingMessage
from microlib.testing import TestService
from tests.data._redis import RedisServer
from tests.forwarder import forwarding
from tests.messaging.cases import BrokerCases
from tests.messaging.conftest import _free_port
from tests.messaging.contract import OrderCancelled, OrderPlaced, eventually, orders, placed, stock_on

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.mark.connected
class TestRedisBroker(BrokerCases):
    """Every case, on Redis Streams; stuck entries are reclaimed after two seconds.

    A stream is one concrete address: consumers name the region they read.
    """

    settings = ("messaging.reclaim_idle=2",)
    consumer_settings = ("messaging.consumers.onOrder.parameters.region=eu",)

    @pytest.fixture
    def broker_url(self) -> str:
        """The shared Redis server; streams and groups are the test's own."""
        return REDIS_URL


@pytest.mark.connected
async def test_server_restart_during_consumption_loses_nothing(tmp_path: Path) -> None:
    """Redis restarting mid-stream (its append-only file on disk) costs no message:
    readiness goes down while it is away, the consumer reconnects, and entries whose
    acknowledgement was lost are reclaimed and handled again."""
    server = RedisServer(persist_to=tmp_path)
    server.start()
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    handled: list[str] = []

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            await asyncio.sleep(0.01)
            handled.append(payload.order_id)

    service = Service("stock")
    service.include(Stock())
    settings = [
        f"messaging.url={server.url}",
        "messaging.reclaim_idle=0.5",
        "messaging.reconnect_backoff=0.05",
        "messaging.prefetch=4",
        "messaging.consumers.onOrder.parameters.region=eu",
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
            server.stop()
            assert not (await service.health.report("readiness")).up
            server.start()
            await eventually(lambda: set(handled) == set(ids), within=30, what="every message handled")

            async def ready() -> bool:
                # The probe's own pooled connection may still be the one the restart
                # closed; the next probe (as Kubernetes sends them) finds Redis back.
                return (await service.health.report("readiness")).up

            await eventually(ready, within=10, what="readiness back")
            # The entries whose acknowledgement was lost are reclaimed, handled
            # again and acknowledged: nothing stays pending.
            client = Redis.from_url(server.url)
            stream = contract.place_order.resolve({"region": "eu"})

            async def settled() -> bool:
                return (await client.xpending(stream, "stock.onOrder"))["pending"] == 0  # <group>.<operation>

            await eventually(settled, what="no entry left pending")
            await client.aclose()
    finally:
        server.stop()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own (the test disturbs it)."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.connected
async def test_a_publish_the_broker_does_not_confirm_in_time_is_unavailable(
    redis_server: RedisServer,
) -> None:
    """A broker that holds writes (CLIENT PAUSE) fails the publish after
    messaging.publish_timeout with Unavailable naming the setting, and counts it."""
    contract = orders("t")
    service = Service("orders")
    service.publisher  # noqa: B018
    settings = [f"messaging.url={redis_server.url}", "messaging.publish_timeout=0.2"]
    async with TestService(service, overrides=settings, with_real=True):
        admin = Redis.from_url(redis_server.url)
        await admin.execute_command("CLIENT", "PAUSE", "1500", "WRITE")
        with pytest.raises(Unavailable, match=r"within 0\.2s \(messaging\.publish_timeout\)"):
            await service.publisher.publish(contract.place_order, placed(), parameters={"region": "eu"})
        await admin.aclose()
        registry = service.observability.metrics.registry
        labels = {"channel": "orders", "operation": "placeOrder", "code": "UNAVAILABLE"}
        assert registry.get_sample_value("messaging_publisher_messages_total", labels) == 1


def recording(contract: Any, handled: list[str]) -> Service:
    """A service whose consumer of ``contract`` notes each order id it handles in ``handled``."""

    class Stock(contract.consumer):  # type: ignore[misc,name-defined]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            handled.append(payload.order_id)

    service = Service("stock")
    service.include(Stock())
    return service


@pytest.mark.connected
async def test_a_consumer_whose_stream_is_clobbered_subscribes_again(redis_server: RedisServer) -> None:
    """When the stream's key is replaced by another type the subscription fails; the
    consumer keeps subscribing again, with backoff, and resumes once the key is a stream."""
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    stream = contract.place_order.resolve({"region": "eu"})
    handled: list[str] = []
    service = recording(contract, handled)
    settings = [
        f"messaging.url={redis_server.url}",
        "messaging.consumers.onOrder.parameters.region=eu",
        "messaging.reconnect_backoff=0.05",
        "messaging.reconnect_backoff_max=0.2",
    ]
    admin = Redis.from_url(redis_server.url)
    async with TestService(service, overrides=settings, with_real=True) as t:
        await admin.delete(stream)
        await admin.set(stream, "not a stream")
        await eventually(
            lambda: any(e.get("event") == "subscription failed; subscribing again" for e in t.logs),
            what="the failure noticed",
        )
        await admin.delete(stream)
        await service.publisher.publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})
        await eventually(lambda: handled == ["o-1"], what="consumption resumed")
    await admin.aclose()


@pytest.mark.connected
async def test_an_entry_another_producer_wrote_badly_is_dead_lettered_and_the_rest_handled() -> None:
    """Entries written by another producer: one whose ``headers`` field is not a JSON
    object never reaches a handler nor stalls the consumer (it used to fail every read
    of its batch, and again each time it was reclaimed): it is dead-lettered, as it
    came, with the error; one whose text fields are not UTF-8 is read with
    replacement characters and handled; the entries after them are handled."""
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    stream = contract.place_order.resolve({"region": "eu"})
    group = f"g{uuid.uuid4().hex[:8]}"
    seen: list[tuple[str, str]] = []

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            seen.append((payload.order_id, ctx.message_id))

    service = Service("stock")
    service.include(Stock())
    settings = [
        f"messaging.url={REDIS_URL}",
        f"messaging.group={group}",
        "messaging.consumers.onOrder.parameters.region=eu",
    ]
    admin = Redis.from_url(REDIS_URL)
    body = placed("o-1").model_dump_json().encode()
    try:
        async with TestService(service, overrides=settings, with_real=True) as t:
            await admin.xadd(stream, {"body": body, "headers": b"[not, json", "message_id": b"m-1"})
            await admin.xadd(stream, {"body": body, "headers": b'["a list"]', "message_id": b"m-2"})
            await admin.xadd(stream, {"body": placed("o-3").model_dump_json(), "message_id": b"m-\xff"})
            await service.publisher.publish(contract.place_order, placed("o-4"), parameters={"region": "eu"})
            await eventually(lambda: len(seen) == 2, what="the readable entries handled")
            broker = service.messaging.broker

            async def two_letters() -> list[OutgoingMessage] | None:
                found = await broker.dead_letters(f"{group}.onOrder")
                return found if len(found) == 2 else None

            letters = await eventually(two_letters, what="the unreadable entries dead-lettered")
            assert not any(e.get("event") == "subscription failed; subscribing again" for e in t.logs)
        assert seen[0] == ("o-3", "m-\ufffd")
        assert seen[1][0] == "o-4"
        assert [letter.message_id for letter in letters] == ["m-1", "m-2"]
        for letter, raw in zip(letters, ("[not, json", '["a list"]'), strict=True):
            assert letter.body == body
            assert letter.address == stream
            assert letter.headers["x-microlib-dead-letter-reason"] == "poison"
            assert letter.headers["x-microlib-error-code"] == "INVALID_ARGUMENT"
            assert "headers" in letter.headers["x-microlib-error"]
            assert letter.headers["x-microlib-unreadable-headers"] == raw
    finally:
        await admin.delete(stream, f"{group}.onOrder.dlq")
        await admin.aclose()


@pytest.mark.connected
async def test_the_reply_inbox_stays_empty_and_goes_away_with_the_requester() -> None:
    """Each reply is deleted from the requester's inbox stream once read, so the stream
    does not grow; the stream is deleted when the requester stops."""
    from tests.messaging.contract import StockLevel, StockQuery, stock

    contract = stock(f"t{uuid.uuid4().hex[:8]}")
    group = f"g{uuid.uuid4().hex[:8]}"

    async def on_stock_query(self: Any, payload: StockQuery, ctx: MessageContext) -> StockLevel:
        return StockLevel(sku=payload.sku, available=1)

    responder = Service("stock")
    responder.include(type("Stock", (contract.consumer,), {"on_stock_query": on_stock_query})())
    requester = Service("shop")
    requester.publisher  # noqa: B018
    redis = Redis.from_url(REDIS_URL)
    try:
        async with (
            TestService(responder, overrides=[f"messaging.url={REDIS_URL}", f"messaging.group={group}"]),
            TestService(requester, overrides=[f"messaging.url={REDIS_URL}", f"messaging.group={group}r"]),
        ):
            for sku in ("a", "b", "c"):
                assert await requester.publisher.request(contract.query, StockQuery(sku=sku), timeout=20)
            (inbox,) = [key async for key in redis.scan_iter(match=f"{group}r.replies.*")]
            assert await redis.xlen(inbox) == 0
        assert await redis.exists(inbox) == 0
    finally:
        await redis.delete(contract.on_query.address)
        await redis.aclose()


@pytest.mark.connected
async def test_a_burst_is_sent_and_acknowledged_in_batches_each_message_answered_alone(
    redis_server: RedisServer,
) -> None:
    """Publishes made at once share one pipeline and acknowledgements made at once one
    XACK, yet each message keeps its own outcome: the one publish Redis refuses (its
    stream's key holds a string) fails alone, and every other message is handled and
    acknowledged, with far fewer XACK commands than messages."""
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    handled: list[str] = []
    service = recording(contract, handled)
    settings = [
        f"messaging.url={redis_server.url}",
        "messaging.group=stock",
        "messaging.prefetch=16",
        "messaging.consumers.onOrder.parameters.region=eu",
    ]
    admin = Redis.from_url(redis_server.url)
    await admin.set(contract.place_order.resolve({"region": "xx"}), "not a stream")
    ids = [f"o-{i}" for i in range(40)]
    async with TestService(service, overrides=settings, with_real=True):
        await admin.config_resetstat()
        outcomes = await asyncio.gather(
            *(
                service.publisher.publish(contract.place_order, placed(order_id), parameters={"region": "eu"})
                for order_id in ids[:20]
            ),
            service.publisher.publish(contract.place_order, placed("refused"), parameters={"region": "xx"}),
            *(
                service.publisher.publish(contract.place_order, placed(order_id), parameters={"region": "eu"})
                for order_id in ids[20:]
            ),
            return_exceptions=True,
        )
        failed = [o for o in outcomes if o is not None]
        assert len(failed) == 1
        assert isinstance(failed[0], Unavailable)
        assert "WRONGTYPE" in str(failed[0])
        await eventually(lambda: sorted(handled) == sorted(ids), what="every message handled")
        stream = contract.place_order.resolve({"region": "eu"})

        async def acknowledged() -> bool:
            return int((await admin.xpending(stream, "stock.onOrder"))["pending"]) == 0

        await eventually(acknowledged, what="every message acknowledged")
        xack = (await admin.info("commandstats")).get("cmdstat_xack", {"calls": 0})
        assert 0 < int(xack["calls"]) < len(ids) // 2
    await admin.aclose()


@pytest.mark.connected
async def test_a_redis_outage_is_one_line_per_consumer_as_it_starts_and_one_as_it_ends() -> None:
    """Redis goes away under a consumer (the test's forwarder to it is cut) for several of its
    fetch attempts, and comes back: the consumer says it once as the outage starts and once as
    it fetches again, with how many attempts failed and for how long, and takes the messages
    published since. Before, it logged a warning for each failed attempt (up to six a minute
    per consumer, for as long as Redis stayed away)."""
    port = _free_port()
    quick = ("messaging.reconnect_backoff=0.05", "messaging.reconnect_backoff_max=0.2")
    stock = stock_on(f"redis://127.0.0.1:{port}/0", *quick)
    contract, handled, service, settings = stock.contract, stock.handled, stock.service, stock.settings
    async with forwarding(port, to=6379) as cut, TestService(service, overrides=settings) as t:
        await service.publisher.publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})
        await eventually(lambda: handled == ["o-1"], what="the first message handled")
        await cut()
        lost = "Redis connection lost; reconnecting"
        await eventually(lambda: any(e["event"] == lost for e in t.logs), what="the outage said")
        await asyncio.sleep(1)  # the outage: an attempt every 0.2 s at most
        async with forwarding(port, to=6379):
            await service.publisher.publish(contract.place_order, placed("o-2"), parameters={"region": "eu"})
            await eventually(lambda: set(handled) == {"o-1", "o-2"}, what="consuming resumed")
    [said] = [e for e in t.logs if e["event"] == lost]
    [back] = [e for e in t.logs if e["event"] == "Redis connection back"]
    assert said["level"] == "warning"
    assert (back["level"], back["stream"]) == ("info", said["stream"])
    assert back["failed_attempts"] > 1
