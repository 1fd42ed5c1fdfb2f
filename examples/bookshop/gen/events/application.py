# Generated from examples/bookshop/contracts/events.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 4f170d7ed9d72d33a86f70927867af4d2a9665db830fe80bb74f804006b5c90b
"""Bookshop events 0.1.0 (AsyncAPI 3.0.0): the runtime's definition, the consumer interface and the typed publisher.

Implement ``EventsConsumer`` and ``service.include(...)`` it to receive; send through ``EventsPublisher(publisher)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar, Protocol, cast

from microlib.core.errors import Unimplemented
from microlib.messaging import (
    Action,
    ApplicationDefinition,
    MessageContext,
    MessageDefinition,
    OperationDefinition,
    Publisher,
    RetryPolicy,
    json_decoder,
    json_encoder,
    register_document,
)

from . import models

__all__ = [
    "DEFINITION",
    "DOCUMENT_PATH",
    "EventsConsumer",
    "EventsPublisher",
]

DOCUMENT_PATH = Path(__file__).with_name("asyncapi.json")

_ORDER_PLACED = MessageDefinition(
    name="OrderPlaced",
    payload_type=models.OrderPlaced,
    decode=json_decoder(models.OrderPlaced, "OrderPlaced"),
    encode=json_encoder(models.OrderPlaced),
    content_type="application/json",
    headers_type=None,
    correlation_id=None,
)


class EventsConsumer(Protocol):
    """Receives the messages of Bookshop events: one handler per receive operation."""

    # Set to DEFINITION below. A value here, not a bare annotation, so that
    # mypy does not take the consumers derived from this interface for
    # abstract classes.
    __microlib_asyncapi__: ClassVar[ApplicationDefinition] = cast("ApplicationDefinition", None)

    async def reserve_stock(self, payload: models.OrderPlaced, ctx: MessageContext) -> None:
        """Set the books of a placed order aside."""
        raise Unimplemented("reserveStock is not implemented")


class EventsPublisher:
    """Typed sends of Bookshop events, through the service's ``microlib.messaging.Publisher``."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        register_document(publisher, DEFINITION)

    async def publish_order_placed(
        self,
        payload: models.OrderPlaced,
        *,
        key: str | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Announce an order the shop accepted."""
        await self._publisher.publish(
            DEFINITION.operations["publishOrderPlaced"],
            payload,
            parameters=None,
            key=key,
            headers=None,
            message_id=message_id,
            correlation_id=correlation_id,
        )


DEFINITION = ApplicationDefinition(
    title="Bookshop events",
    version="0.1.0",
    asyncapi="3.0.0",
    operations={
        "publishOrderPlaced": OperationDefinition(
            name="publishOrderPlaced",
            python_name="publish_order_placed",
            action=Action.SEND,
            channel="orderPlaced",
            address="bookshop.orders.placed",
            messages=(_ORDER_PLACED,),
        ),
        "reserveStock": OperationDefinition(
            name="reserveStock",
            python_name="reserve_stock",
            action=Action.RECEIVE,
            channel="orderPlaced",
            address="bookshop.orders.placed",
            messages=(_ORDER_PLACED,),
            retry=RetryPolicy(max_attempts=5, initial_backoff=0.5),
        ),
    },
    consumer_protocol=EventsConsumer,
    document=json.loads(DOCUMENT_PATH.read_bytes()),
)
EventsConsumer.__microlib_asyncapi__ = DEFINITION
