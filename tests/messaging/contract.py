"""An AsyncAPI contract built by hand, as ``microlib codegen`` would generate it.

``orders(prefix)`` describes an order-events document whose addresses start
with ``prefix``, so every test has channels (streams, topics, queues) of its
own on a shared broker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, Field

from microlib import Service
from microlib.messaging import (
    Action,
    ApplicationDefinition,
    MessageContext,
    MessageDefinition,
    OperationDefinition,
    RetryPolicy,
    json_decoder,
    json_encoder,
)


class Line(BaseModel):
    """One line of an order."""

    sku: str
    qty: int = Field(gt=0)


class OrderPlaced(BaseModel):
    """The event a placed order publishes."""

    order_id: str
    lines: list[Line]


class OrderCancelled(BaseModel):
    """The event a cancelled order publishes (a second message on the same channel)."""

    order_id: str
    reason: str


FAST = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05, jitter=0.0)
"""Retries that do not slow a test down."""


def message(model: type[BaseModel]) -> MessageDefinition:
    """A JSON message of ``model``."""
    return MessageDefinition(model.__name__, model, json_decoder(model), json_encoder(model))


@dataclass(frozen=True)
class Orders:
    """The generated pieces of the orders document."""

    application: ApplicationDefinition
    consumer: type[Any]
    on_order: OperationDefinition
    place_order: OperationDefinition

    @property
    def queue(self) -> str:
        """The consumer's queue name in group ``group``, minus the group."""
        return self.on_order.name


def orders(
    prefix: str,
    *,
    retry: RetryPolicy | None = FAST,
    key: str | None = "$message.payload#/order_id",
    bindings: Mapping[str, Mapping[str, Any]] | None = None,
    parameter_schemas: Mapping[str, Mapping[str, Any]] | None = None,
    parameter_locations: Mapping[str, str] | None = None,
) -> Orders:
    """The orders document with addresses under ``prefix``.

    ``onOrder`` (receive) and ``placeOrder`` (send) share the channel
    ``<prefix>.orders.{region}``, carrying ``OrderPlaced`` or ``OrderCancelled``.
    """
    receive = OperationDefinition(
        name="onOrder",
        python_name="on_order",
        action=Action.RECEIVE,
        channel="orders",
        address=f"{prefix}.orders.{{region}}",
        messages=(message(OrderPlaced), message(OrderCancelled)),
        key=key,
        bindings=bindings or {},
        retry=retry,
        parameter_schemas=parameter_schemas or {},
        parameter_locations=parameter_locations or {},
    )
    send = dataclasses.replace(receive, name="placeOrder", python_name="place_order", action=Action.SEND)

    class OrdersConsumer(Protocol):
        """The generated consumer interface."""

        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            """Handle an order event."""
            ...

    application = ApplicationDefinition(
        title="Orders",
        version="1.0.0",
        asyncapi="3.0.0",
        operations={"onOrder": receive, "placeOrder": send},
        consumer_protocol=OrdersConsumer,
        document={"asyncapi": "3.0.0", "info": {"title": "Orders", "version": "1.0.0"}},
    )
    OrdersConsumer.__microlib_asyncapi__ = application  # type: ignore[attr-defined]
    return Orders(application, OrdersConsumer, receive, send)


def recording_stock(contract: Orders, handled: list[str]) -> Service:
    """A service ``stock`` whose consumer of ``contract`` appends each order id it handles to ``handled``."""

    class Stock(contract.consumer):  # type: ignore[name-defined,misc]
        async def on_order(self, payload: OrderPlaced | OrderCancelled, ctx: MessageContext) -> None:
            handled.append(payload.order_id)

    service = Service("stock")
    service.include(Stock())
    return service


@dataclass
class Recorder:
    """A recording stock service on a broker, as :func:`stock_on` builds it."""

    contract: Orders
    handled: list[str]
    service: Service
    group: str
    settings: list[str]


def stock_on(url: str, *settings: str) -> Recorder:
    """A contract of the test's own, a :func:`recording_stock` consuming it in a group of its
    own, and the settings that point it at ``url`` (its consumer's ``{region}`` set to ``eu``),
    then ``settings``."""
    contract = orders(f"t{uuid.uuid4().hex[:8]}")
    handled: list[str] = []
    group = f"g{uuid.uuid4().hex[:10]}"
    own = [
        f"messaging.url={url}",
        f"messaging.group={group}",
        "messaging.consumers.onOrder.parameters.region=eu",
    ]
    return Recorder(contract, handled, recording_stock(contract, handled), group, [*own, *settings])


def placed(order_id: str = "o-1", qty: int = 1) -> OrderPlaced:
    """An OrderPlaced event."""
    return OrderPlaced(order_id=order_id, lines=[Line(sku="book-1", qty=qty)])


async def eventually(check: Callable[[], Any], *, within: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check`` (a function or a coroutine function) until it returns something
    truthy, and return that; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within}s")
        await asyncio.sleep(0.01)


class StockQuery(BaseModel):
    """A request: how many of a book are in stock?"""

    sku: str


class StockLevel(BaseModel):
    """The reply to a StockQuery."""

    sku: str
    available: int


DYNAMIC_REPLY = "$message.header#/replyTo"
"""A reply address the request names (AsyncAPI 3's ``reply.address.location``)."""


@dataclass(frozen=True)
class Stock:
    """The generated pieces of the stock-query document (request/reply)."""

    application: ApplicationDefinition
    consumer: type[Any]
    on_query: OperationDefinition
    query: OperationDefinition


def stock(prefix: str, *, reply_address: str = DYNAMIC_REPLY) -> Stock:
    """A request/reply document: ``queryStock`` (send, with a reply) and
    ``onStockQuery`` (receive, replying) on ``<prefix>.stock.queries``; the
    correlation id travels in the ``correlationId`` header too."""

    def correlated(model: type[BaseModel]) -> MessageDefinition:
        return dataclasses.replace(message(model), correlation_id="$message.header#/correlationId")

    answer = OperationDefinition(
        name="onStockQueryReply",
        python_name="on_stock_query_reply",
        action=Action.SEND,
        channel="stockLevels",
        address=reply_address,
        messages=(correlated(StockLevel),),
    )
    receive = OperationDefinition(
        name="onStockQuery",
        python_name="on_stock_query",
        action=Action.RECEIVE,
        channel="stockQueries",
        address=f"{prefix}.stock.queries",
        messages=(correlated(StockQuery),),
        reply=answer,
        retry=FAST,
    )
    send = dataclasses.replace(
        receive,
        name="queryStock",
        python_name="query_stock",
        action=Action.SEND,
        reply=dataclasses.replace(answer, name="queryStockReply", action=Action.RECEIVE),
    )

    class StockConsumer(Protocol):
        """The generated consumer interface."""

        async def on_stock_query(self, payload: StockQuery, ctx: MessageContext) -> StockLevel:
            """Answer a stock query."""
            ...

    application = ApplicationDefinition(
        title="Stock",
        version="1.0.0",
        asyncapi="3.0.0",
        operations={"onStockQuery": receive, "queryStock": send},
        consumer_protocol=StockConsumer,
        document={"asyncapi": "3.0.0", "info": {"title": "Stock", "version": "1.0.0"}},
    )
    StockConsumer.__microlib_asyncapi__ = application  # type: ignore[attr-defined]
    return Stock(application, StockConsumer, receive, send)
