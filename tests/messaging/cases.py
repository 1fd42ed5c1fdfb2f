"""Test cases every broker passes: the same bodies on memory, Redis, RabbitMQ and Kafka.

A subclass provides the ``broker_url`` fixture (and marks itself
``connected`` for a real server); each test gets channels of its own
(``prefix``) and a consumer group of its own (``group``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from microlib import Service
from microlib.core.errors import DeadlineExceeded, InvalidArgument, NotFound
from microlib.messaging import MessageContext, OutgoingMessage, Reject
from microlib.testing import TestService
from tests.messaging.contract import (
    DYNAMIC_REPLY,
    OrderCancelled,
    OrderPlaced,
    Orders,
    StockLevel,
    StockQuery,
    eventually,
    orders,
    placed,
    stock,
)

Handler = Callable[[Any, Any, MessageContext], Awaitable[Any]]


class BrokerCases:
    """Behaviour every broker adapter shares with the in-memory one."""

    settings: Sequence[str] = ()
    """Extra ``--set`` overrides for this broker (the Redis reclaim delay...)."""

    counts_deliveries = True
    """Whether the broker says a message was delivered before (Kafka does not)."""

    counts_dead_letters = True
    """Whether the broker counts dead letters cheaply (Kafka does not)."""

    removes_replayed = True
    """Whether a replayed dead letter leaves the dead letters (Kafka cannot delete one record)."""

    consumer_settings: Sequence[str] = ()
    """Extra overrides for a service that consumes (Redis: the address's parameters)."""

    @pytest.fixture
    def prefix(self) -> str:
        """Channels (topics, streams, routing keys) no other test uses."""
        return f"t{uuid.uuid4().hex[:10]}"

    @pytest.fixture
    def group(self) -> str:
        """A consumer group no other test uses."""
        return f"g{uuid.uuid4().hex[:10]}"

    @pytest.fixture
    def contract(self, prefix: str) -> Orders:
        """The orders document under this test's prefix."""
        return orders(prefix)

    @asynccontextmanager
    async def running(
        self,
        url: str,
        group: str,
        contract: Orders,
        handler: Handler | None = None,
        *,
        overrides: Sequence[str] = (),
    ) -> AsyncIterator[Service]:
        """A started service consuming ``contract`` with ``handler`` (or only publishing)."""
        service = Service("stock")
        if handler is not None:
            service.include(type("Stock", (contract.consumer,), {"on_order": handler})())
        else:
            service.publisher  # noqa: B018 - asking for it gives the service messaging
        settings = [f"messaging.url={url}", f"messaging.group={group}", *self.settings]
        if handler is not None:
            settings += self.consumer_settings
        settings += overrides
        async with TestService(service, overrides=settings):
            yield service

    async def dead_letters(self, service: Service, group: str, count: int) -> list[OutgoingMessage]:
        """Wait for ``count`` dead letters of the test's consumer, and return them."""
        broker = service.messaging.broker

        async def enough() -> list[OutgoingMessage] | None:
            found = await broker.dead_letters(f"{group}.onOrder")
            return found if len(found) >= count else None

        letters: list[OutgoingMessage] = await eventually(enough, what=f"{count} dead letter(s)")
        return letters

    async def test_handler_gets_typed_payload_and_delivery_context(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """The handler gets the decoded payload (either message of the channel) and a
        MessageContext with address, parameters, key, headers and ids; the call runs
        through the chain as a ``message`` call named after the document and operation."""
        seen: list[tuple[Any, MessageContext]] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            seen.append((payload, ctx))

        async with self.running(broker_url, group, contract, on_order) as service:
            await service.publisher.publish(
                contract.place_order,
                placed("o-1"),
                parameters={"region": "eu"},
                headers={"x-tenant": "acme"},
                message_id="m-1",
            )
            await service.publisher.publish(
                contract.place_order,
                OrderCancelled(order_id="o-2", reason="late"),
                parameters={"region": "eu"},
            )
            await eventually(lambda: len(seen) == 2, what="two deliveries")
        by_id = {payload.order_id: (payload, ctx) for payload, ctx in seen}
        payload, ctx = by_id["o-1"]
        assert payload == placed("o-1")
        assert ctx.address == f"{contract.on_order.address.split('.')[0]}.orders.eu"
        assert ctx.parameters == {"region": "eu"}
        assert ctx.key == "o-1"
        assert ctx.message_id == "m-1"
        assert ctx.headers["x-tenant"] == "acme"
        assert (ctx.delivery_count, ctx.redelivered, ctx.attempt) == (1, False, 1)
        assert ctx.operation is contract.on_order
        assert ctx.call is not None
        assert (ctx.call.kind, ctx.call.full_method) == ("message", "Orders/onOrder")
        cancelled, _ = by_id["o-2"]
        assert isinstance(cancelled, OrderCancelled)

    async def test_trace_context_travels_from_producer_to_consumer(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """The producer span's W3C context travels in the headers, and the consumer's
        span continues its trace."""
        seen: list[MessageContext] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            seen.append(ctx)

        async with self.running(broker_url, group, contract, on_order) as service:
            await service.publisher.publish(contract.place_order, placed(), parameters={"region": "eu"})
            await eventually(lambda: seen, what="a delivery")
        ctx = seen[0]
        _, trace_id, parent_span, _ = ctx.headers["traceparent"].split("-")
        assert ctx.call is not None
        assert ctx.call.attributes["trace_id"] == trace_id
        assert ctx.call.attributes["span_id"] != parent_span

    async def test_failed_attempts_are_retried_then_acknowledged(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """A handler that fails twice then succeeds sees attempts 1, 2, 3; the message
        is acknowledged once and not delivered again, and no dead letter is written."""
        attempts: list[int] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            attempts.append(ctx.attempt)
            if ctx.attempt < 3:
                raise NotFound("the order is not there yet")

        async with self.running(broker_url, group, contract, on_order) as service:
            await service.publisher.publish(contract.place_order, placed(), parameters={"region": "eu"})
            await eventually(lambda: attempts == [1, 2, 3], what="three attempts")
            await asyncio.sleep(0.3)
            assert attempts == [1, 2, 3]
            assert await service.messaging.broker.dead_letters(f"{group}.onOrder") == []
            registry = service.observability.metrics.registry
            labels = {"service": "Orders", "method": "onOrder"}
            assert registry.get_sample_value("messaging_consumer_retries_total", labels) == 2

    async def test_exhausted_message_is_dead_lettered_once_with_error_and_attempts(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """A message failing every attempt goes to the dead letters after the last
        one, once, with the handler's error and the attempt count in its headers."""
        attempts: list[int] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            attempts.append(ctx.attempt)
            raise RuntimeError("stock database is down")

        async with self.running(broker_url, group, contract, on_order) as service:
            await service.publisher.publish(
                contract.place_order, placed(), parameters={"region": "eu"}, message_id="m-dead"
            )
            (letter,) = await self.dead_letters(service, group, 1)
            await asyncio.sleep(0.3)
            assert attempts == [1, 2, 3]
            assert len(await service.messaging.broker.dead_letters(f"{group}.onOrder")) == 1
        headers = letter.headers
        assert headers["x-microlib-dead-letter-reason"] == "exhausted"
        assert headers["x-microlib-attempts"] == "3"
        assert headers["x-microlib-error"] == "RuntimeError: stock database is down"
        assert headers["x-microlib-error-code"] == "INTERNAL"
        assert headers["x-microlib-original-address"].endswith(".orders.eu")
        assert letter.message_id == "m-dead"
        assert OrderPlaced.model_validate_json(letter.body) == placed()

    async def test_poison_error_is_dead_lettered_without_retry(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """An INVALID_ARGUMENT from the handler is poison: one attempt, then the dead letters."""
        attempts: list[int] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            attempts.append(ctx.attempt)
            raise InvalidArgument("unknown sku book-1")

        async with self.running(broker_url, group, contract, on_order) as service:
            await service.publisher.publish(contract.place_order, placed(), parameters={"region": "eu"})
            (letter,) = await self.dead_letters(service, group, 1)
            await asyncio.sleep(0.2)
        assert attempts == [1]
        assert letter.headers["x-microlib-dead-letter-reason"] == "poison"
        assert letter.headers["x-microlib-error-code"] == "INVALID_ARGUMENT"
        assert letter.headers["x-microlib-attempts"] == "1"

    async def test_reject_signal_dead_letters_at_once(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """A handler raising Reject sends the message to the dead letters with its reason."""
        attempts: list[int] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            attempts.append(ctx.attempt)
            raise Reject("order belongs to a closed shop")

        async with self.running(broker_url, group, contract, on_order) as service:
            await service.publisher.publish(contract.place_order, placed(), parameters={"region": "eu"})
            (letter,) = await self.dead_letters(service, group, 1)
        assert attempts == [1]
        assert letter.headers["x-microlib-error"] == "order belongs to a closed shop"
        assert letter.headers["x-microlib-error-code"] == "INVALID_ARGUMENT"

    async def test_invalid_payload_is_dead_lettered_with_the_field_path(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """A payload that fails validation never reaches the handler; its dead letter
        names the invalid field by path."""
        handled: list[Any] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            handled.append(payload)

        async with self.running(broker_url, group, contract, on_order) as service:
            bad = b'{"order_id": "o-9", "lines": [{"sku": "book-1", "qty": 0}]}'
            await service.messaging.broker.publish(
                contract.place_order,
                OutgoingMessage(
                    address=contract.place_order.resolve({"region": "eu"}),
                    body=bad,
                    headers={"x-microlib-message": "OrderPlaced"},
                    message_id="m-bad",
                ),
            )
            (letter,) = await self.dead_letters(service, group, 1)
        assert handled == []
        assert letter.body == bad
        assert letter.headers["x-microlib-dead-letter-reason"] == "poison"
        assert "payload.lines[0].qty" in letter.headers["x-microlib-error"]
        (violation,) = json.loads(letter.headers["x-microlib-violations"])
        assert violation["field"] == "payload.lines[0].qty"
        assert violation["rule"] == "greater_than"

    async def test_parameters_the_contract_refuses_are_refused_at_both_doors(
        self, broker_url: str, group: str, prefix: str
    ) -> None:
        """A publish whose parameter value the channel's schema refuses raises before
        sending; a delivery on an address holding one never reaches the handler: it is
        dead-lettered at once, the dead letter naming ``parameters.<name>``."""
        contract = orders(prefix, parameter_schemas={"region": {"enum": ["eu", "us"]}})
        handled: list[Any] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            handled.append(payload)

        # The consumer reads the refused region's address (a Redis stream is one address).
        refused = ["messaging.consumers.onOrder.parameters.region=nope"]
        async with self.running(broker_url, group, contract, on_order, overrides=refused) as service:
            with pytest.raises(InvalidArgument, match=r"parameters\.region: 'nope' is not one of 'eu', 'us'"):
                await service.publisher.publish(
                    contract.place_order, placed("o-1"), parameters={"region": "nope"}
                )
            await service.messaging.broker.publish(
                contract.place_order,
                OutgoingMessage(
                    address=contract.place_order.resolve({"region": "nope"}),
                    body=placed("o-2").model_dump_json().encode(),
                    headers={"x-microlib-message": "OrderPlaced"},
                    message_id="m-nope",
                ),
            )
            (letter,) = await self.dead_letters(service, group, 1)
        assert handled == []
        assert letter.message_id == "m-nope"  # the refused publish sent nothing
        assert letter.headers["x-microlib-dead-letter-reason"] == "poison"
        assert letter.headers["x-microlib-attempts"] == "1"
        assert letter.headers["x-microlib-error-code"] == "INVALID_ARGUMENT"
        assert letter.headers["x-microlib-error-reason"] == "INVALID_PARAMETERS"
        assert "parameters.region" in letter.headers["x-microlib-error"]
        (violation,) = json.loads(letter.headers["x-microlib-violations"])
        assert violation == {
            "field": "parameters.region",
            "description": "'nope' is not one of 'eu', 'us'",
            "rule": "enum",
        }

    async def test_a_parameter_the_message_carries_is_read_from_it_and_held_to_it(
        self, broker_url: str, group: str, prefix: str
    ) -> None:
        """The contract locates ``region`` in the ``x-region`` header. A publish that leaves the
        parameter out goes to the header's region; one whose parameter differs from the header,
        or that has neither, raises before sending; a delivery whose address differs from its
        header is dead-lettered at once, naming ``parameters.region``."""
        contract = orders(prefix, parameter_locations={"region": "$message.header#/x-region"})
        seen: list[MessageContext] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            seen.append(ctx)

        # One region consumed (a Redis stream is one address).
        eu = ["messaging.consumers.onOrder.parameters.region=eu"]
        async with self.running(broker_url, group, contract, on_order, overrides=eu) as service:
            await service.publisher.publish(contract.place_order, placed("o-1"), headers={"x-region": "eu"})
            await eventually(lambda: seen, what="the delivery")
            with pytest.raises(
                InvalidArgument, match=r"parameters\.region: 'us' differs from the message's 'eu'"
            ):
                await service.publisher.publish(
                    contract.place_order,
                    placed("o-2"),
                    parameters={"region": "us"},
                    headers={"x-region": "eu"},
                )
            with pytest.raises(
                InvalidArgument, match=r"nor does the message carry one at \$message\.header#/x-region"
            ):
                await service.publisher.publish(contract.place_order, placed("o-3"))
            await service.messaging.broker.publish(
                contract.place_order,
                OutgoingMessage(
                    address=contract.place_order.resolve({"region": "eu"}),
                    body=placed("o-4").model_dump_json().encode(),
                    headers={"x-microlib-message": "OrderPlaced", "x-region": "us"},
                    message_id="m-us",
                ),
            )
            (letter,) = await self.dead_letters(service, group, 1)
        assert [(ctx.parameters, ctx.message_id != "m-us") for ctx in seen] == [({"region": "eu"}, True)]
        assert letter.message_id == "m-us"
        assert letter.headers["x-microlib-error-reason"] == "INVALID_PARAMETERS"
        (violation,) = json.loads(letter.headers["x-microlib-violations"])
        assert violation == {
            "field": "parameters.region",
            "description": "'eu' differs from the message's 'us' (at $message.header#/x-region)",
            "rule": "location",
        }

    async def test_parameters_the_contract_allows_are_handled(
        self, broker_url: str, group: str, prefix: str
    ) -> None:
        """A value the parameter's schema allows passes both doors."""
        contract = orders(prefix, parameter_schemas={"region": {"enum": ["eu", "us"], "pattern": "^[a-z]+$"}})
        seen: list[MessageContext] = []

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            seen.append(ctx)

        async with self.running(broker_url, group, contract, on_order) as service:
            await service.publisher.publish(contract.place_order, placed("o-1"), parameters={"region": "eu"})
            await eventually(lambda: seen, what="the delivery")
        assert seen[0].parameters == {"region": "eu"}

    async def test_groups_each_get_every_message_and_share_within_a_group(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """Two consumers of one group share the messages (each handled once); a
        consumer of another group gets every message too."""
        handled: dict[str, list[str]] = {"a": [], "b": [], "other": []}

        def handler(name: str) -> Handler:
            async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
                handled[name].append(payload.order_id)

            return on_order

        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(self.running(broker_url, group, contract, handler("a")))
            await stack.enter_async_context(self.running(broker_url, group, contract, handler("b")))
            await stack.enter_async_context(self.running(broker_url, group + "x", contract, handler("other")))
            ids = [f"o-{i}" for i in range(20)]
            for order_id in ids:
                await a.publisher.publish(contract.place_order, placed(order_id), parameters={"region": "eu"})
            await eventually(lambda: len(handled["a"]) + len(handled["b"]) == 20, what="the group's 20")
            await eventually(lambda: len(handled["other"]) == 20, what="the other group's 20")
            await asyncio.sleep(0.2)
        assert sorted(handled["a"] + handled["b"]) == sorted(ids)
        assert sorted(handled["other"]) == sorted(ids)

    async def test_two_receive_operations_on_one_channel_each_get_every_message(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """Two receive operations of one service on the same channel (a reservation
        and an audit of the same orders) are two consumers, as their two queues are
        on RabbitMQ: each handles every message, neither takes the other's share."""
        audit = dataclasses.replace(contract.on_order, name="onAudit", python_name="on_audit")
        application = dataclasses.replace(
            contract.application, operations={**contract.application.operations, "onAudit": audit}
        )
        handled: dict[str, list[str]] = {"onOrder": [], "onAudit": []}

        class Both:
            __microlib_asyncapi__ = application

            async def on_order(self, payload: Any, ctx: MessageContext) -> None:
                handled["onOrder"].append(payload.order_id)

            async def on_audit(self, payload: Any, ctx: MessageContext) -> None:
                handled["onAudit"].append(payload.order_id)

        service = Service("stock")
        service.include(Both())
        settings = [f"messaging.url={broker_url}", f"messaging.group={group}", *self.settings]
        settings += [
            *self.consumer_settings,
            *(s.replace(".onOrder.", ".onAudit.") for s in self.consumer_settings),
        ]
        ids = [f"o-{i}" for i in range(10)]
        async with TestService(service, overrides=settings):
            for order_id in ids:
                await service.publisher.publish(
                    contract.place_order, placed(order_id), parameters={"region": "eu"}
                )
            await eventually(
                lambda: len(handled["onOrder"]) + len(handled["onAudit"]) >= 20, what="both handle all"
            )
            await asyncio.sleep(0.2)
        assert sorted(handled["onOrder"]) == ids
        assert sorted(handled["onAudit"]) == ids

    async def test_unacknowledged_message_is_redelivered_after_a_consumer_crash(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """A consumer whose connection dies mid-handler never acknowledged the
        message: the broker delivers it again, to the group's other consumer."""
        started = asyncio.Event()
        release = asyncio.Event()
        second: list[MessageContext] = []

        async def crashing(self: Any, payload: Any, ctx: MessageContext) -> None:
            started.set()
            await release.wait()

        async def healthy(self: Any, payload: Any, ctx: MessageContext) -> None:
            second.append(ctx)

        async with self.running(broker_url, group, contract, crashing) as first:
            await first.publisher.publish(contract.place_order, placed(), parameters={"region": "eu"})
            await asyncio.wait_for(started.wait(), 20)
            async with self.running(broker_url, group, contract, healthy):
                await first.messaging.broker.stop()  # the connection dies, unacknowledged
                await eventually(lambda: second, what="the redelivery")
                release.set()
        assert second[0].message_id == second[-1].message_id
        if self.counts_deliveries:
            assert second[0].redelivered or second[0].delivery_count > 1
            assert second[0].attempt == 2

    async def test_graceful_shutdown_finishes_in_flight_and_gives_back_the_rest(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """Stopping a consumer lets its in-flight handler finish (acknowledged) and
        leaves the messages it had not started to the next consumer: none is lost,
        none handled twice."""
        started = asyncio.Event()
        release = asyncio.Event()
        first_handled: list[str] = []
        second_handled: list[str] = []

        async def slow(self: Any, payload: Any, ctx: MessageContext) -> None:
            started.set()
            await release.wait()
            first_handled.append(payload.order_id)

        async def fast(self: Any, payload: Any, ctx: MessageContext) -> None:
            second_handled.append(payload.order_id)

        one = ["messaging.prefetch=1"]
        async with self.running(broker_url, group, contract, slow, overrides=one) as first:
            for i in range(3):
                await first.publisher.publish(
                    contract.place_order, placed(f"o-{i}"), parameters={"region": "eu"}
                )
            await asyncio.wait_for(started.wait(), 20)
            stopping = asyncio.create_task(first.stop())
            await asyncio.sleep(0.2)
            release.set()
            await stopping
        assert first_handled == ["o-0"]
        async with self.running(broker_url, group, contract, fast):
            await eventually(lambda: len(second_handled) == 2, what="the two left over")
            await asyncio.sleep(0.2)
        assert sorted(second_handled) == ["o-1", "o-2"]

    @pytest.mark.parametrize("fixed_reply", [False, True], ids=["reply_to", "reply-channel"])
    async def test_request_awaits_the_typed_reply_matched_by_correlation_id(
        self, broker_url: str, group: str, prefix: str, fixed_reply: bool
    ) -> None:
        """``request()`` sends the request with a correlation id and this instance's
        inbox as reply address, and returns the responder's typed reply; concurrent
        requests each get their own reply. The responder's return value is sent back
        with the request's correlation id, which the handler also sees (here from the
        ``correlationId`` header the contract locates). With a reply channel of a fixed
        address, the reply still reaches the requester's inbox (``reply_to`` wins)."""
        contract = stock(prefix, reply_address=f"{prefix}.stock.levels" if fixed_reply else DYNAMIC_REPLY)
        seen: list[MessageContext] = []

        async def on_stock_query(self: Any, payload: StockQuery, ctx: MessageContext) -> StockLevel:
            seen.append(ctx)
            return StockLevel(sku=payload.sku, available=len(payload.sku))

        responder = Service("stock")
        responder.include(type("Stock", (contract.consumer,), {"on_stock_query": on_stock_query})())
        requester = Service("shop")
        requester.publisher  # noqa: B018 - asking for it gives the service messaging
        common = [f"messaging.url={broker_url}", *self.settings]
        async with (
            TestService(responder, overrides=[*common, f"messaging.group={group}"]),
            TestService(requester, overrides=[*common, f"messaging.group={group}r"]),
        ):
            skus = ["b", "bb", "bbb", "bbbb"]
            replies = await asyncio.gather(
                *(requester.publisher.request(contract.query, StockQuery(sku=s), timeout=30) for s in skus)
            )
        assert replies == [StockLevel(sku=s, available=len(s)) for s in skus]
        assert len(seen) == len(skus)
        assert all(ctx.correlation_id and ctx.headers["correlationid"] == ctx.correlation_id for ctx in seen)
        assert len({ctx.correlation_id for ctx in seen}) == len(skus)

    async def test_request_without_an_answer_fails_with_deadline_exceeded(
        self, broker_url: str, group: str, prefix: str
    ) -> None:
        """A request nobody answers fails with DEADLINE_EXCEEDED naming the operation
        and the setting, once its timeout passed; ``publish()``-only operations refuse
        ``request()``."""
        contract = stock(prefix)
        requester = Service("shop")
        requester.publisher  # noqa: B018
        overrides = [f"messaging.url={broker_url}", f"messaging.group={group}r", *self.settings]
        async with TestService(requester, overrides=overrides):
            with pytest.raises(DeadlineExceeded, match=r"no reply to queryStock within 0\.2s"):
                await requester.publisher.request(contract.query, StockQuery(sku="b"), timeout=0.2)
            answer = contract.on_query.reply
            assert answer is not None
            with pytest.raises(TypeError, match="onStockQueryReply has no reply"):
                await requester.publisher.request(answer, StockLevel(sku="b", available=1))

    async def test_lag_and_dead_letters_are_sampled_into_gauges(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """While a consumer (prefetch 1) is stuck on one message, the others wait:
        ``microlib_messaging_consumer_lag`` counts them, ``messaging_consumer_dead_letters``
        counts the dead letter (not on Kafka, where counting is not cheap); once the
        handler goes on, the lag falls to 0."""
        release = asyncio.Event()

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            if payload.order_id == "bad":
                raise Reject("bad order")
            await release.wait()

        overrides = ["messaging.prefetch=1", "messaging.lag_interval=0.05"]
        async with self.running(broker_url, group, contract, on_order, overrides=overrides) as service:
            registry = service.observability.metrics.registry
            labels = {"service": "Orders", "method": "onOrder"}

            def gauge(name: str) -> float:
                return registry.get_sample_value(name, labels) or 0.0

            await service.publisher.publish(contract.place_order, placed("bad"), parameters={"region": "eu"})
            await self.dead_letters(service, group, 1)
            for n in range(4):
                await service.publisher.publish(
                    contract.place_order, placed(f"o-{n}"), parameters={"region": "eu"}
                )
            await eventually(lambda: gauge("microlib_messaging_consumer_lag") >= 3, what="a lag of 3 or more")
            if self.counts_dead_letters:
                await eventually(
                    lambda: gauge("messaging_consumer_dead_letters") == 1, what="one dead letter"
                )
            else:
                assert registry.get_sample_value("messaging_consumer_dead_letters", labels) is None
            release.set()
            await eventually(lambda: gauge("microlib_messaging_consumer_lag") == 0, what="no lag")

    async def test_dead_letters_are_replayed_to_their_consumer_and_purged(
        self, broker_url: str, group: str, contract: Orders
    ) -> None:
        """A replayed dead letter reaches its consumer again (and leaves the dead
        letters, except on Kafka); an unknown id replays nothing; purge drops the rest."""
        handled: list[str] = []
        refuse = True

        async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
            if refuse:
                raise Reject("not yet")
            handled.append(payload.order_id)

        async with self.running(broker_url, group, contract, on_order) as service:
            for n in (1, 2):
                await service.publisher.publish(
                    contract.place_order, placed(f"o-{n}"), parameters={"region": "eu"}, message_id=f"m-{n}"
                )
            await self.dead_letters(service, group, 2)
            refuse = False
            messaging = service.messaging
            assert await messaging.replay_dead_letter(contract.on_order, "m-1")
            assert not await messaging.replay_dead_letter(contract.on_order, "m-unknown")
            await eventually(lambda: handled == ["o-1"], what="the replayed message handled")
            assert await messaging.purge_dead_letters(contract.on_order) == (
                1 if self.removes_replayed else 2
            )
            assert await messaging.dead_letters(contract.on_order) == []
