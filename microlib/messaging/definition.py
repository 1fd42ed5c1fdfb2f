"""What generated code tells the runtime about an AsyncAPI document.

``microlib codegen`` emits one :class:`ApplicationDefinition` per AsyncAPI
document (2.6, 3.0 or 3.1). The brokers declare their topology from it, the
consumers run its receive operations through the service's chain, the typed
publishers send through its send operations, and the startup drift check
compares it with the user's consumer. Every version of the specification is
read into this one model: in 2.6 a ``subscribe`` operation is what the
application *sends* and a ``publish`` operation what it *receives*, so both
arrive here as :attr:`Action.SEND` and :attr:`Action.RECEIVE`.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from microlib.core.retry import RetryPolicy

__all__ = [
    "Action",
    "ApplicationDefinition",
    "MessageDefinition",
    "OperationDefinition",
    "RetryPolicy",
]

_PARAMETER = re.compile(r"\{([^{}]+)\}")


class Action(enum.Enum):
    """What the application does on an operation's channel."""

    SEND = "send"
    RECEIVE = "receive"


@dataclass(frozen=True, slots=True)
class MessageDefinition:
    """One message an operation carries.

    Args:
        name: The message's name in the document (``OrderPlaced``).
        payload_type: The class users see (a pydantic model, or a proto
            message when the message's ``schemaFormat`` says protobuf).
        decode: Wire bytes to a validated payload; raises
            ``InvalidArgument`` naming each bad field (``payload.lines[0].qty``).
        encode: A payload to wire bytes.
        content_type: The payload's media type (``application/json``).
        headers_type: The pydantic model of the message's headers, if declared.
        correlation_id: Where the correlation id travels, as the document
            writes it (``$message.header#/correlationId``), if declared.
    """

    name: str
    payload_type: type[Any]
    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes]
    content_type: str = "application/json"
    headers_type: type[Any] | None = None
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class OperationDefinition:
    """One operation of the application: a channel it sends to or receives from.

    Args:
        name: The operation's id (``placeOrder``; derived when the document
            has none).
        python_name: The attribute users see (``place_order``).
        action: Send or receive, from the application's side.
        channel: The channel's name in the document (``orderPlaced``).
        address: The channel's address, with ``{parameters}``
            (``orders.{region}.placed``); the channel name when the
            document gives no address.
        messages: What the operation carries, one or more (``oneOf``).
        key: Where the message key (Kafka key, AMQP routing key, Redis
            stream entry field) comes from: a payload path
            (``$message.payload#/orderId``) or a header path; None for none.
        bindings: The operation's and its channel's bindings by protocol
            (``amqp``, ``kafka``, ``redis``), merged, channel first.
        reply: For request/reply: the operation's reply (its messages and
            address); None otherwise.
        retry: The ``x-microlib-retry`` extension, if any.
        parameter_schemas: What the contract allows each address parameter's
            value to be, by parameter, the JSON Schema keywords microlib
            checks (``{"region": {"enum": ["eu", "us"]}}``); only the
            parameters something constrains (see
            :mod:`microlib.messaging.parameters`).
        parameter_locations: Where a message carries an address parameter's
            value, by parameter, as a runtime expression
            (``{"region": "$message.payload#/region"}``); only the parameters
            the contract locates.
        extensions: Other ``x-`` fields of the operation, as written.
    """

    name: str
    python_name: str
    action: Action
    channel: str
    address: str
    messages: tuple[MessageDefinition, ...]
    key: str | None = None
    bindings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    reply: OperationDefinition | None = None
    retry: RetryPolicy | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)
    parameter_schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    parameter_locations: Mapping[str, str] = field(default_factory=dict)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The address's parameters, in order (``("region",)``)."""
        return tuple(_PARAMETER.findall(self.address))

    def resolve(self, values: Mapping[str, str], *, partial: bool = False) -> str:
        """The concrete address with ``values`` put in for its parameters.

        Args:
            values: Parameter values by name.
            partial: Leave a parameter without a value as ``{name}``
                instead of failing (a consumer's wildcard).

        Raises:
            KeyError: A parameter has no value, naming it (unless ``partial``).
        """
        if partial:
            return _PARAMETER.sub(lambda m: values.get(m.group(1), m.group(0)), self.address)
        return _PARAMETER.sub(lambda m: values[m.group(1)], self.address)

    def match(self, address: str) -> dict[str, str] | None:
        """The parameter values of ``address``, a concrete address of this
        operation's channel; None when it is not one (``orders.eu.placed``
        gives ``{"region": "eu"}``)."""
        found = _pattern(self.address).fullmatch(address)
        return None if found is None else dict(zip(self.parameters, found.groups(), strict=True))


@functools.lru_cache(maxsize=1024)
def _pattern(address: str) -> re.Pattern[str]:
    # A parameter's value is one segment: anything but the separators
    # brokers use in names (``.``, ``/``, ``:``).
    parts = _PARAMETER.split(address)
    return re.compile("".join(re.escape(part) if i % 2 == 0 else "([^./:]+)" for i, part in enumerate(parts)))


@dataclass(frozen=True, slots=True)
class ApplicationDefinition:
    """An AsyncAPI document as generated code describes it.

    Generated code sets it as ``__microlib_asyncapi__`` on the consumer
    interface, which is how ``Service.include(consumer)`` finds it.

    Args:
        title: ``info.title``.
        version: ``info.version``.
        asyncapi: The specification version the document declares (``3.0.0``).
        operations: Every operation, by name, in document order.
        consumer_protocol: The generated interface consumers implement
            (one method per receive operation); None when it receives nothing.
        document: The document as written (served at ``/asyncapi.json`` and
            ``/asyncapi.yaml``), ``$ref``\\ s to other files bundled in.
    """

    title: str
    version: str
    asyncapi: str
    operations: Mapping[str, OperationDefinition]
    consumer_protocol: type[Any] | None
    document: Mapping[str, Any]

    def sends(self) -> tuple[OperationDefinition, ...]:
        """The operations the application sends on."""
        return tuple(op for op in self.operations.values() if op.action is Action.SEND)

    def receives(self) -> tuple[OperationDefinition, ...]:
        """The operations the application receives on."""
        return tuple(op for op in self.operations.values() if op.action is Action.RECEIVE)
