"""microlib.messaging: typed producers and consumers from AsyncAPI contracts.

Generated code targets :mod:`microlib.messaging.definition`; handlers see a
:class:`MessageContext`; typed publishers send through a :class:`Publisher`.
The broker is chosen by ``messaging.url``: :class:`MemoryBroker` here, the
RabbitMQ, Kafka and Redis Streams adapters in ``microlib.messaging.rabbit``,
``.kafka`` and ``.redis`` (imported only when their URL is used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
    from microlib.messaging.acks import Reject
    from microlib.messaging.adapters import open_broker
    from microlib.messaging.avro import AvroCodec
    from microlib.messaging.broker import Broker, Delivery, Inbox, OutgoingMessage, Subscription
    from microlib.messaging.codec import header_values, json_decoder, json_encoder
    from microlib.messaging.context import MessageContext
    from microlib.messaging.definition import (
        Action,
        ApplicationDefinition,
        MessageDefinition,
        OperationDefinition,
        RetryPolicy,
    )
    from microlib.messaging.drift import check_consumer
    from microlib.messaging.memory import MemoryBroker
    from microlib.messaging.publisher import Publisher, register_document
    from microlib.messaging.publishing import BrokerPublisher
    from microlib.messaging.retry import POISON_CODES
    from microlib.messaging.runtime import Messaging

__all__ = [
    "POISON_CODES",
    "Action",
    "ApplicationDefinition",
    "AvroCodec",
    "Broker",
    "BrokerPublisher",
    "Delivery",
    "Inbox",
    "MemoryBroker",
    "MessageContext",
    "MessageDefinition",
    "Messaging",
    "OperationDefinition",
    "OutgoingMessage",
    "Publisher",
    "Reject",
    "RetryPolicy",
    "Subscription",
    "check_consumer",
    "header_values",
    "json_decoder",
    "json_encoder",
    "open_broker",
    "register_document",
]

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Action": "microlib.messaging.definition",
        "ApplicationDefinition": "microlib.messaging.definition",
        "AvroCodec": "microlib.messaging.avro",
        "Broker": "microlib.messaging.broker",
        "BrokerPublisher": "microlib.messaging.publishing",
        "Delivery": "microlib.messaging.broker",
        "Inbox": "microlib.messaging.broker",
        "MemoryBroker": "microlib.messaging.memory",
        "MessageContext": "microlib.messaging.context",
        "MessageDefinition": "microlib.messaging.definition",
        "Messaging": "microlib.messaging.runtime",
        "OperationDefinition": "microlib.messaging.definition",
        "OutgoingMessage": "microlib.messaging.broker",
        "POISON_CODES": "microlib.messaging.retry",
        "Publisher": "microlib.messaging.publisher",
        "Reject": "microlib.messaging.acks",
        "RetryPolicy": "microlib.messaging.definition",
        "Subscription": "microlib.messaging.broker",
        "check_consumer": "microlib.messaging.drift",
        "header_values": "microlib.messaging.codec",
        "json_decoder": "microlib.messaging.codec",
        "json_encoder": "microlib.messaging.codec",
        "open_broker": "microlib.messaging.adapters",
        "register_document": "microlib.messaging.publisher",
    },
)
