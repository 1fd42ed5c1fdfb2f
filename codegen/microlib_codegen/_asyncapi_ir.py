"""The IR of an AsyncAPI document: what :mod:`microlib_codegen.asyncapi` renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApplicationSpec", "MessageSpec", "OperationSpec", "ParamSpec", "Where"]

Where = tuple[str | int, ...]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a channel address.

    Args:
        name: As the address writes it (``streetlightId``).
        arg: The keyword argument of the publisher method (``streetlight_id``).
        annotation: Its Python type (``str``, ``int``, ``Literal["eu", "us"]``).
        schema: What the contract allows its values to be, the keywords the
            runtime checks (``{"enum": ["eu", "us"]}``); None when nothing
            constrains it.
        location: Where a message carries its value (``$message.payload#/region``),
            if the contract says.
    """

    name: str
    arg: str
    annotation: str
    schema: dict[str, Any] | None = None
    location: str | None = None


@dataclass(frozen=True)
class MessageSpec:
    """One message, ready to render.

    Args:
        name: Its name in the document.
        payload: The model class of its payload (a name in ``models.py``),
            or the proto message's full name when ``proto`` is set.
        proto: Whether the payload is a protobuf message of the proto contracts.
        headers: The model class of its headers, if declared.
        headers_required: Whether the headers schema requires a field.
        content_type: The payload's media type.
        correlation_id: Where the correlation id travels, if declared.
        avro: The payload's Avro schema, when it is one (the runtime encodes with it).
    """

    name: str
    payload: str
    proto: bool = False
    headers: str | None = None
    headers_required: bool = False
    content_type: str = "application/json"
    correlation_id: str | None = None
    avro: Any = None


@dataclass
class OperationSpec:
    """One operation of the application, ready to render."""

    name: str
    python_name: str
    action: str
    channel: str
    address: str
    messages: list[MessageSpec]
    params: list[ParamSpec] = field(default_factory=list)
    key: str | None = None
    bindings: dict[str, dict[str, Any]] = field(default_factory=dict)
    retry: dict[str, float | int] | None = None
    extensions: dict[str, Any] = field(default_factory=dict)
    reply: OperationSpec | None = None
    summary: str = ""


@dataclass
class ApplicationSpec:
    """The document's operations and the schemas the model generator reads.

    Args:
        title: ``info.title``.
        version: ``info.version``.
        asyncapi: The specification version.
        operations: In document order.
        schemas: Named JSON Schemas (``components/schemas`` of a synthetic
            OpenAPI 3.1 document), one model each.
        warnings: ``file:line: what: reason`` for each construct skipped.
        origins: Where in the document each of ``schemas`` is written.
    """

    title: str
    version: str
    asyncapi: str
    operations: list[OperationSpec]
    schemas: dict[str, Any]
    warnings: list[str]
    origins: dict[str, Where]
