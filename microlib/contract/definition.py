"""What generated code tells the runtime about a contract's service.

``microlib codegen`` emits one :class:`ServiceDefinition` per proto service;
the gRPC server, the HTTP transcoder and the startup drift check all read it,
and every call of a method carries its :class:`MethodDefinition` under
:data:`METHOD_ATTRIBUTE`, whichever door it came through.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "METHOD_ATTRIBUTE",
    "HttpRule",
    "MethodDefinition",
    "MethodKind",
    "ServiceDefinition",
]

METHOD_ATTRIBUTE = "microlib.method"
"""``ctx.attributes`` key holding the call's :class:`MethodDefinition`."""


class MethodKind(enum.Enum):
    """The four RPC shapes."""

    UNARY_UNARY = "unary_unary"
    UNARY_STREAM = "unary_stream"
    STREAM_UNARY = "stream_unary"
    STREAM_STREAM = "stream_stream"


@dataclass(frozen=True, slots=True)
class HttpRule:
    """One ``google.api.http`` binding of a method.

    Args:
        method: HTTP verb, upper case (``GET``), or the custom verb's kind.
        path: The path template as written (``/v1/{name=shelves/*}``).
        body: ``""`` (no body), ``"*"`` or a field path (``book`` or ``shelf.details``).
        response_body: ``""`` or the response field to send as the body.
    """

    method: str
    path: str
    body: str = ""
    response_body: str = ""


@dataclass(frozen=True, slots=True)
class MethodDefinition:
    """One RPC of a service.

    Args:
        name: The method name in the proto (``GetBook``).
        python_name: The servicer attribute (``get_book``).
        kind: The RPC shape.
        request_type: The request message class users see.
        response_type: The response message class users see.
        decode_request: Wire bytes to a request message (the fast codec).
        encode_response: A response message to wire bytes (the fast codec).
        encode_request: A request message to wire bytes (clients).
        decode_response: Wire bytes to a response message (clients).
        validate_request: Checks a request against the rules its contract
            declares (``field_behavior``, ``buf.validate``); raises
            ``InvalidArgument`` naming each bad field. None when it has none.
        http_rules: Its ``google.api.http`` bindings, primary first.
        options: Method options the runtime acts on (auth, validation...).
    """

    name: str
    python_name: str
    kind: MethodKind
    request_type: type[Any]
    response_type: type[Any]
    decode_request: Callable[[bytes], Any]
    encode_response: Callable[[Any], bytes]
    encode_request: Callable[[Any], bytes]
    decode_response: Callable[[bytes], Any]
    validate_request: Callable[[Any], None] | None = None
    http_rules: tuple[HttpRule, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """A proto service as generated code describes it.

    Generated code sets it as ``__microlib_service__`` on the servicer
    interface, which is how ``Service.include(servicer)`` finds it.

    Args:
        full_name: The fully qualified name (``shop.v1.Bookshop``).
        methods: Its methods, by proto name, in declaration order.
        servicer_protocol: The generated interface servicers implement.
        file_descriptor_set: The serialized ``FileDescriptorSet`` of the
            service's file and its imports (reflection, transcoding).
        openapi_document: The OpenAPI 3.1 document ``microlib codegen``
            wrote for the package's HTTP bindings (``openapi.json``), when
            the service has any: ``Service`` serves it with its docs page.
    """

    full_name: str
    methods: Mapping[str, MethodDefinition]
    servicer_protocol: type[Any]
    file_descriptor_set: bytes
    openapi_document: Path | None = None
