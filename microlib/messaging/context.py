"""What a consumer's handler learns about the message it is handling."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from microlib.core.context import CallContext
from microlib.messaging.definition import OperationDefinition

__all__ = ["MessageContext"]


@dataclass(frozen=True, slots=True)
class MessageContext:
    """One delivery of a message to a consumer.

    The payload is the handler's first argument; everything else about the
    delivery is here.

    Args:
        operation: The receive operation the message arrived on.
        address: The concrete address (``orders.eu.placed``).
        parameters: The address's parameter values (``{"region": "eu"}``).
        headers: The message's headers, as sent (lower-cased names).
        key: The message key (Kafka key, AMQP routing key), if any.
        message_id: The id the producer gave the message (dedup, tracing).
        correlation_id: Ties a reply to its request, if any.
        delivery_count: How many times the broker has delivered it (1 first).
        redelivered: The broker delivered it before (a crash, a nack).
        broker_id: The broker's own id (stream entry id, partition:offset,
            delivery tag).
        call: The chain's context of this delivery (principal, attributes).
        attempt: This attempt's number (1 first), counting the earlier
            deliveries the broker reports and the retries in this process.
        reply_to: Where the producer asks the answer to go, if it does:
            AMQP's ``reply_to`` property (RabbitMQ's RPC pattern, a queue),
            the ``x-microlib-reply-to`` header on Kafka, the entry's
            ``reply_to`` field on Redis. An operation with a ``reply``
            answers there by itself; a contract that models the answer as
            a send operation of its own (asyncapi/spec's rpc-server example)
            sends it there.
    """

    operation: OperationDefinition
    address: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    key: str | None = None
    message_id: str = ""
    correlation_id: str | None = None
    delivery_count: int = 1
    redelivered: bool = False
    broker_id: str = ""
    call: CallContext | None = None
    attempt: int = 1
    reply_to: str | None = None
