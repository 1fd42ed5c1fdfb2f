"""Messaging as the composition root wires it: include, config, readiness, metrics, imports."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from microlib import Service
from microlib.config import ConfigError
from microlib.core.errors import Unavailable
from microlib.core.lifecycle import StartupError
from microlib.messaging import MessageContext, Reject
from microlib.testing import TestService
from tests.messaging.contract import Orders, orders, placed

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = {"aio_pika", "aiormq", "aiokafka", "redis"}


def _modules_after(statement: str) -> set[str]:
    probe = f"import sys\n{statement}\nprint(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return set(out.split())


def consumer_of(contract: Orders, handler: Any) -> Any:
    """An implementation of the orders consumer interface."""
    return type("Stock", (contract.consumer,), {"on_order": handler})()


@pytest.fixture
def contract() -> Orders:
    """The orders document under a prefix of the test's own."""
    return orders(f"t{uuid.uuid4().hex[:8]}")


def test_no_broker_driver_is_imported_without_a_broker_url() -> None:
    """Importing microlib and assembling a service, with or without messaging on
    memory://, imports none of aio-pika, aiokafka or redis."""
    plain = _modules_after("import microlib\nmicrolib.Service('x').app")
    assert not plain & DRIVERS
    assert "microlib.messaging.runtime" not in plain
    with_memory = _modules_after("import microlib\ns = microlib.Service('x')\ns.publisher\ns.app")
    assert "microlib.messaging.runtime" in with_memory
    assert not with_memory & DRIVERS


def test_a_consumer_lacking_a_handler_is_refused(contract: Orders) -> None:
    """include() names the missing handler and its operation."""

    class Lazy(contract.consumer):  # type: ignore[name-defined,misc]
        pass

    with pytest.raises(TypeError, match=r"on_order is missing \(operation onOrder\)"):
        Service("stock").include(Lazy())


def test_a_marker_that_is_not_a_definition_is_refused() -> None:
    """__microlib_asyncapi__ must hold an ApplicationDefinition."""

    class Odd:
        __microlib_asyncapi__ = "orders.yaml"

    with pytest.raises(TypeError, match="is not an ApplicationDefinition"):
        Service("stock").include(Odd())


def test_a_bad_broker_url_is_a_config_error() -> None:
    """messaging.url with an unknown scheme fails the configuration, naming the key."""
    service = Service("stock")
    with pytest.raises(
        ConfigError, match=r"messaging\.url = nats://x \(--set messaging\.url=\.\.\.\): the scheme"
    ):
        service.configure(overrides=["messaging.url=nats://x"], environ={})


async def test_consumer_settings_for_an_unknown_operation_fail_the_start(contract: Orders) -> None:
    """messaging.consumers naming an operation no consumer receives stops the start."""

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        pass

    service = Service("stock")
    service.include(consumer_of(contract, on_order))
    with pytest.raises(StartupError, match=r"names operation\(s\) \['onOrdr'\].*known: \['onOrder'\]"):
        async with TestService(service, overrides=["messaging.consumers.onOrdr.prefetch=2"]):
            pass


async def test_readiness_follows_the_broker_connection(contract: Orders) -> None:
    """Readiness is up while the broker is connected and down once it is gone."""

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        pass

    service = Service("stock")
    service.include(consumer_of(contract, on_order))
    async with TestService(service, overrides=["health.cache_ttl=0"]) as t:
        assert (await t.http.get("/health/ready")).status_code == 200
        await service.messaging.broker.stop()
        response = await t.http.get("/health/ready")
        assert response.status_code == 503
        assert "not started" in response.text


async def test_publisher_before_start_and_after_assembly() -> None:
    """The publisher exists before the start and refuses to send until then; a service
    assembled without messaging says how to get it."""
    service = Service("orders")
    publisher = service.publisher
    contract = orders("t")
    with pytest.raises(Unavailable, match="messaging is not started"):
        await publisher.publish(contract.place_order, placed(), parameters={"region": "eu"})
    plain = Service("plain")
    with pytest.raises(RuntimeError, match="build it with Service"):
        plain.messaging  # noqa: B018
    plain.configure(environ={})
    plain.app  # noqa: B018
    with pytest.raises(RuntimeError, match="has no messaging"):
        plain.publisher  # noqa: B018


async def test_publishing_refuses_a_wrong_payload_or_a_missing_parameter(contract: Orders) -> None:
    """A payload of another type, an address parameter without value and a request
    on an operation without a reply are each named."""
    service = Service("orders")
    service.publisher  # noqa: B018
    async with TestService(service):
        with pytest.raises(TypeError, match="placeOrder sends OrderPlaced, OrderCancelled, not str"):
            await service.publisher.publish(contract.place_order, "hello", parameters={"region": "eu"})
        with pytest.raises(Exception, match="needs parameter 'region'"):
            await service.publisher.publish(contract.place_order, placed())
        with pytest.raises(TypeError, match="operation placeOrder has no reply: publish"):
            await service.publisher.request(contract.place_order, placed())


async def test_consumer_settings_override_the_contract_retry_and_bound_the_handler(contract: Orders) -> None:
    """messaging.consumers.<op>.retry replaces the contract's policy; handler_timeout
    fails an attempt with DEADLINE_EXCEEDED."""
    attempts: list[int] = []

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        attempts.append(ctx.attempt)
        await asyncio.sleep(30)

    service = Service("stock")
    service.include(consumer_of(contract, on_order))
    overrides = [
        "messaging.consumers.onOrder.retry.max_attempts=2",
        "messaging.consumers.onOrder.retry.initial_backoff=0",
        "messaging.consumers.onOrder.handler_timeout=0.05",
    ]
    async with TestService(service, overrides=overrides) as t:
        outcome = await t.messages.publish(contract.place_order, placed(), parameters={"region": "eu"})
        (letter,) = await t.messages.dead_letters(contract.on_order)
    assert outcome == "dead_letter"
    assert attempts == [1, 2]
    assert letter.headers["x-microlib-error-code"] == "DEADLINE_EXCEEDED"
    assert letter.headers["x-microlib-attempts"] == "2"


async def test_the_section_retry_applies_when_the_contract_has_none() -> None:
    """messaging.retry is the policy of consumers whose contract declares none."""
    contract = orders(f"t{uuid.uuid4().hex[:8]}", retry=None)
    attempts: list[int] = []

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        attempts.append(ctx.attempt)
        raise RuntimeError("down")

    service = Service("stock")
    service.include(consumer_of(contract, on_order))
    overrides = ["messaging.retry.max_attempts=2", "messaging.retry.initial_backoff=0"]
    async with TestService(service, overrides=overrides) as t:
        assert await t.messages.publish(contract.place_order, placed(), parameters={"region": "eu"}) == (
            "dead_letter"
        )
    assert attempts == [1, 2]


async def test_a_message_delivered_more_often_than_allowed_is_dead_lettered_unhandled(
    contract: Orders,
) -> None:
    """A message the broker delivers again after its attempts are spent (a consumer that
    crashed on it every time) goes to the dead letters without reaching a handler."""
    started = asyncio.Event()
    handled: list[str] = []

    async def stuck(self: Any, payload: Any, ctx: MessageContext) -> None:
        started.set()
        await asyncio.sleep(30)

    async def healthy(self: Any, payload: Any, ctx: MessageContext) -> None:
        handled.append(payload.order_id)

    url = f"messaging.url=memory://{uuid.uuid4().hex}"
    one = [url, "messaging.consumers.onOrder.retry.max_attempts=1", "shutdown.drain_timeout=0.1"]
    first = Service("stock")
    first.include(consumer_of(contract, stuck))
    second = Service("stock")
    second.include(consumer_of(contract, healthy))
    async with TestService(first, overrides=one, with_real=True) as t:
        await t.messages.publish(contract.place_order, placed(), parameters={"region": "eu"}, wait=False)
        await asyncio.wait_for(started.wait(), 10)
        await first.messaging.broker.stop()  # crashed: the message goes back, delivered once
        async with TestService(second, overrides=one, with_real=True) as u:
            letters = []
            for _ in range(500):
                letters = await u.messages.dead_letters(contract.on_order)
                if letters:
                    break
                await asyncio.sleep(0.01)
    assert handled == []
    assert letters[0].headers["x-microlib-dead-letter-reason"] == "exhausted"
    assert letters[0].headers["x-microlib-attempts"] == "1"


async def test_metrics_count_consumed_published_retried_and_dead_lettered(contract: Orders) -> None:
    """Messages consumed (by outcome), published, retried and dead-lettered are counted."""

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        if payload.order_id == "poison":
            raise Reject("unknown shop")

    service = Service("stock")
    service.include(consumer_of(contract, on_order))
    async with TestService(service) as t:
        await t.messages.publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})
        await t.messages.publish(contract.place_order, placed("poison"), parameters={"region": "eu"})
        registry = service.observability.metrics.registry
        consumed = {"service": "Orders", "method": "onOrder"}
        assert registry.get_sample_value("messaging_consumer_messages_total", {**consumed, "code": "OK"}) == 1
        assert (
            registry.get_sample_value(
                "messaging_consumer_messages_total", {**consumed, "code": "INVALID_ARGUMENT"}
            )
            == 1
        )
        assert (
            registry.get_sample_value(
                "messaging_consumer_dead_lettered_total", {**consumed, "reason": "poison"}
            )
            == 1
        )
        published = {"channel": "orders", "operation": "placeOrder", "code": "OK"}
        assert registry.get_sample_value("messaging_publisher_messages_total", published) == 2
        assert registry.get_sample_value("messaging_publisher_message_duration_seconds_count", published) == 2
        lines = [e for e in t.logs if e.get("event") == "call completed" and e.get("kind") == "message"]
        assert {(e["code"], e["level"]) for e in lines} == {("OK", "info"), ("INVALID_ARGUMENT", "info")}
        assert not [e for e in t.logs if e.get("event") == "unhandled exception"]


@pytest.mark.parametrize(
    ("url", "overrides", "group"),
    [
        ("kafka://127.0.0.1:9092", [], "billing"),
        ("memory://", [], "stock"),
        ("kafka://127.0.0.1:9092", ["messaging.consumers.onOrder.group=audit"], "audit"),
        ("memory://", ["messaging.group=shop"], "shop"),
    ],
)
def test_the_consumer_group_comes_from_config_then_the_kafka_binding_then_the_service(
    url: str, overrides: list[str], group: str
) -> None:
    """A consumer's own group beats the kafka binding's groupId (read on Kafka only,
    given as a schema), which beats messaging.group and the service's name."""
    contract = orders("t", bindings={"kafka": {"groupId": {"type": "string", "enum": ["billing"]}}})

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        pass

    service = Service("stock")
    service.include(consumer_of(contract, on_order))
    service.configure(overrides=[f"messaging.url={url}", *overrides], environ={})
    service.app  # noqa: B018 - assembles the service, connecting nothing
    assert service.messaging.options(contract.on_order).group == group


async def test_a_shutdown_past_its_budget_names_the_drain_it_waited_for(contract: Orders) -> None:
    """A handler that swallows its cancellation holds the messaging drain past
    ``shutdown.timeout``: the error says what the shutdown was waiting for, not
    only that its budget ran out."""
    started, release = asyncio.Event(), asyncio.Event()
    stopped: list[asyncio.Task[Any]] = []

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        stopped.append(asyncio.current_task())  # type: ignore[arg-type]
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            await release.wait()

    service = Service("stock")
    service.include(consumer_of(contract, on_order))
    budget = ["shutdown.drain_delay=0", "shutdown.drain_timeout=0.1", "shutdown.timeout=0.5"]
    async with TestService(service, overrides=budget) as t:
        await t.messages.publish(contract.place_order, placed(), parameters={"region": "eu"}, wait=False)
        await started.wait()
    release.set()
    await asyncio.gather(*stopped, return_exceptions=True)
    [event] = [e for e in t.logs if e["event"] == "shutdown exceeded its budget"]
    assert event["waiting_for"] == "the drain of messaging"
