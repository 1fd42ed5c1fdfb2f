"""The format-neutral intermediate representation the renderers work from.

A reader (``proto.py`` today, OpenAPI and AsyncAPI readers later) turns a
contract into a :class:`Contract`; ``render.py`` turns a :class:`Contract`
into files. Everything here is immutable and ordered, so rendering the same
contract always gives the same bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

# A method's (microlib.v1.auth) rule: the runtime's decoder's type, so both read it alike.
from microlib.security.auth_option import AuthOption as AuthRule

__all__ = [
    "AuthRule",
    "Contract",
    "ContractWarning",
    "EnumType",
    "Field",
    "FieldKind",
    "HttpBinding",
    "MessageType",
    "Method",
    "Service",
    "SourceFile",
    "TypeRef",
    "WellKnown",
]


class FieldKind(enum.Enum):
    """What a field (or a map value) holds."""

    SCALAR = "scalar"
    ENUM = "enum"
    MESSAGE = "message"


class WellKnown(enum.Enum):
    """Well-known message types users see as plain Python values."""

    TIMESTAMP = "timestamp"
    DURATION = "duration"
    WRAPPER = "wrapper"


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A reference to a message or enum type.

    Args:
        full_name: The fully qualified contract name (``shop.v1.Book``).
        package: The contract package that declares it (``shop.v1``).
        python_name: The class name users see (``Book``, ``BookFormat``).
        kind: ``ENUM`` or ``MESSAGE``.
        well_known: Set when users see a plain value instead of a message.
    """

    full_name: str
    package: str
    python_name: str
    kind: FieldKind
    well_known: WellKnown | None = None


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a message.

    Args:
        name: The contract name (``created_at``).
        python_name: The attribute users see.
        number: The field number.
        kind: What it holds (the map value's kind for maps).
        scalar: The scalar type name (``string``, ``int64``) for scalars.
        type: The message or enum type, for those kinds.
        repeated: A list field.
        map_key: The key's scalar type for a map field, else None.
        presence: The Python value is ``None`` when the field is unset.
        oneof: The oneof group the field belongs to, if any.
        required: Declared ``google.api.field_behavior = REQUIRED``.
        output_only: Declared ``google.api.field_behavior = OUTPUT_ONLY``.
        json_name: The proto3 JSON name (``createdAt``).
        doc: The contract's comment, as plain text.
        rules: Its ``buf.validate`` field rules as JSON (proto names), or ``""``.
        deprecated: Declared ``deprecated = true``.
    """

    name: str
    python_name: str
    number: int
    kind: FieldKind
    scalar: str = ""
    type: TypeRef | None = None
    repeated: bool = False
    map_key: str | None = None
    presence: bool = False
    oneof: str | None = None
    required: bool = False
    output_only: bool = False
    json_name: str = ""
    doc: str = ""
    rules: str = ""
    deprecated: bool = False


@dataclass(frozen=True, slots=True)
class MessageType:
    """A message (a record type).

    Args:
        ref: Its name.
        fields: Its fields in declaration order.
        file: The contract file that declares it.
        has_rules: It or a message it contains declares validation rules.
        doc: The contract's comment, as plain text.
        required_oneofs: Its oneofs of which ``buf.validate`` requires a member.
    """

    ref: TypeRef
    fields: tuple[Field, ...]
    file: str
    has_rules: bool = False
    doc: str = ""
    required_oneofs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EnumType:
    """An enum.

    Args:
        ref: Its name.
        values: ``(contract name, number)`` pairs in declaration order.
        file: The contract file that declares it.
        doc: The contract's comment, as plain text.
    """

    ref: TypeRef
    values: tuple[tuple[str, int], ...]
    file: str
    doc: str = ""


@dataclass(frozen=True, slots=True)
class HttpBinding:
    """One HTTP binding of a method (``google.api.http`` for proto).

    Args:
        method: HTTP verb in upper case, or the custom verb's kind.
        path: The path template as written.
        body: ``""``, ``"*"`` or a request field path (``shelf.details``).
        response_body: ``""`` or a response field name.
    """

    method: str
    path: str
    body: str = ""
    response_body: str = ""


@dataclass(frozen=True, slots=True)
class Method:
    """One operation of a service.

    Args:
        name: The contract name (``GetBook``).
        python_name: The servicer attribute (``get_book``).
        input: The request type.
        output: The response type.
        client_streaming: The caller sends a stream.
        server_streaming: The service answers with a stream.
        doc: The contract's comment, as plain text.
        http: HTTP bindings, primary first.
        auth: Its effective auth rule (its own, else its service's default).
        deprecated: Declared ``deprecated = true``, on itself or on its service.
    """

    name: str
    python_name: str
    input: TypeRef
    output: TypeRef
    client_streaming: bool = False
    server_streaming: bool = False
    doc: str = ""
    http: tuple[HttpBinding, ...] = ()
    auth: AuthRule | None = None
    deprecated: bool = False


@dataclass(frozen=True, slots=True)
class Service:
    """A service: a named group of methods.

    Args:
        name: The short name (``Bookshop``).
        full_name: The qualified name (``shop.v1.Bookshop``).
        package: The contract package (``shop.v1``).
        file: The contract file that declares it.
        methods: Its methods in declaration order.
        doc: The contract's comment, as plain text.
    """

    name: str
    full_name: str
    package: str
    file: str
    methods: tuple[Method, ...]
    doc: str = ""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One contract file of the set, with its descriptor.

    Args:
        name: The path relative to its include root (``shop/v1/shop.proto``).
        package: Its package.
        dependencies: Files it imports, by name.
        descriptor: Its serialized descriptor (for reflection, transcoding).
        generate: One of the files asked for (not only imported).
    """

    name: str
    package: str
    dependencies: tuple[str, ...]
    descriptor: bytes
    generate: bool


@dataclass(frozen=True, slots=True)
class ContractWarning:
    """A construct of a contract file left out of the generated code, and why.

    Args:
        file: The contract file's name (relative to its include root).
        line: The 1-based line that wrote it.
        message: What was left out and the reason.
    """

    file: str
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Contract:
    """Everything the renderers need, in a stable order.

    Args:
        files: Every file of the set, each after the files it imports.
        messages: Messages the generated code converts, by full name.
        enums: Enums those messages use, by full name.
        services: Services of the generated files.
        warnings: Constructs left out, each with its place and reason.
    """

    files: tuple[SourceFile, ...]
    messages: dict[str, MessageType] = field(default_factory=dict)
    enums: dict[str, EnumType] = field(default_factory=dict)
    services: tuple[Service, ...] = ()
    warnings: tuple[ContractWarning, ...] = ()

    @property
    def generated_packages(self) -> tuple[str, ...]:
        """The packages of the files asked for, sorted."""
        return tuple(sorted({f.package for f in self.files if f.generate}))
