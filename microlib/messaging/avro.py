"""Avro payloads: a message's binary Avro body to its model and back, with fastavro.

A message whose payload schema is Avro (``schemaFormat:
application/vnd.apache.avro;version=1.9.0``) travels as the Avro binary
encoding of one record, without a container file's header and without a
schema registry's framing, content type ``application/vnd.apache.avro``.
Generated code builds one :class:`AvroCodec` per such message, from the
contract's schema (parsed once, there); its ``decode`` and ``encode`` are
the message's. This module needs the ``avro`` extra (``fastavro``): the
codec is built when the generated module is imported, so a service whose
contract has an Avro message and lacks the extra stops at its start with
the ``pip install`` that adds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any

from pydantic import TypeAdapter, ValidationError

from microlib.core._violations import document_violations
from microlib.core.errors import FieldViolation, InvalidArgument, InvalidContract
from microlib.core.extras import require
from microlib.messaging.codec import refused

__all__ = ["AvroCodec"]


class AvroCodec:
    """A message's Avro binary encoding, for the model generated from its schema.

    Args:
        payload_type: The model of the schema's record.
        schema: The Avro schema, as the contract writes it (a record, every
            named type it uses defined in it).
        message: The message's name in the contract, for errors.

    Raises:
        MissingExtra: ``fastavro`` is not installed, naming the message and
            ``pip install 'microlib[avro]'``.
        InvalidContract: the schema has an array of items that take no bytes.
    """

    __slots__ = ("_adapter", "_check", "_name", "_read", "_schema", "_write")

    def __init__(self, payload_type: type[Any], schema: Mapping[str, Any], message: str) -> None:
        require("avro", f"the Avro payload of message {message}")
        from fastavro import parse_schema, schemaless_reader, schemaless_writer
        from fastavro.validation import validate

        parsed: Any = parse_schema(dict(schema))  # with every named type by its full name
        if _endless(parsed, parsed["__named_schemas"], set()):
            # Items of no bytes: an array's count alone (a few bytes) makes the reader build that
            # many, without reading anything more, so one small body would never finish decoding.
            raise InvalidContract(
                f"the Avro schema of message {message} has an array whose items take no bytes "
                "(null, or a record of such fields): a body of a few bytes could hold billions of them"
            )
        self._schema = parsed
        self._read = schemaless_reader
        self._write = schemaless_writer
        self._check = validate
        self._adapter: TypeAdapter[Any] = TypeAdapter(payload_type)
        self._name = message

    def decode(self, raw: bytes) -> Any:
        """Avro binary to the payload's model.

        Raises:
            InvalidArgument: reason ``INVALID_PAYLOAD``: the bytes are not one
                record of the schema (``payload``, rule ``avro``), or a value
                the model refuses, named by its path (``payload.address.zipcode``).
        """
        body = BytesIO(raw)
        try:
            record = self._read(body, self._schema, None)
        except Exception as exc:  # fastavro reports truncated or malformed input as builtin errors
            raise self._refused(f"not an Avro record of this schema: {type(exc).__name__}: {exc}") from None
        left = len(raw) - body.tell()
        if left:
            raise self._refused(f"{left} byte(s) after the Avro record")
        try:
            return self._adapter.validate_python(record)
        except ValidationError as exc:
            violations = document_violations(exc, record, "payload")
            raise refused(f"payload of message {self._name}", "INVALID_PAYLOAD", violations) from None

    def encode(self, payload: Any) -> bytes:
        """The payload's model to Avro binary (fields by their Avro names).

        The record is checked against the schema first: fastavro would write
        an ``int`` beyond 32 bits as it is, which no reader reads back.

        Raises:
            ValueError: a value the schema cannot hold (an ``int`` beyond 32
                bits, a decimal of more places than its scale), naming the
                message and the field.
        """
        record = self._adapter.dump_python(payload, by_alias=True)
        out = BytesIO()
        try:
            self._check(record, self._schema, raise_errors=True)
            self._write(out, self._schema, record)
        except Exception as exc:  # fastavro's ValidationError (one line per value), or its writer's
            detail = "; ".join(str(e) for e in getattr(exc, "errors", ())) or str(exc)
            raise ValueError(
                f"payload of message {self._name} does not fit its Avro schema: {detail}"
            ) from None
        return out.getvalue()

    def _refused(self, description: str) -> InvalidArgument:
        return refused(
            f"payload of message {self._name}",
            "INVALID_PAYLOAD",
            [FieldViolation("payload", description, "avro")],
        )


def _endless(schema: Any, named: Mapping[str, Any], seen: set[str]) -> bool:
    """Whether ``schema`` holds an array of items that take no bytes to write."""
    if isinstance(schema, str):
        if schema not in named or schema in seen:
            return False
        seen.add(schema)
        schema = named[schema]
    if isinstance(schema, list):  # a union
        return any(_endless(branch, named, seen) for branch in schema)
    if not isinstance(schema, Mapping):
        return False
    kind = schema.get("type")
    if kind == "array":
        return _no_bytes(schema["items"], named, set()) or _endless(schema["items"], named, seen)
    if kind == "map":
        return _endless(schema["values"], named, seen)
    if kind == "record":
        seen.add(schema["name"])
        return any(_endless(field["type"], named, seen) for field in schema["fields"])
    return isinstance(kind, str) and _endless(kind, named, seen)  # a primitive, or a name


# Types whose values always take bytes: a count, a length, an index.
_WRITTEN = frozenset({"array", "map", "enum"})


def _no_bytes(schema: Any, named: Mapping[str, Any], seen: set[str]) -> bool:
    """Whether a value of ``schema`` is written as no bytes at all (null, an empty fixed, a
    record of such fields); a union writes its branch's index, an enum its symbol's."""
    if isinstance(schema, str):
        if schema == "null":
            return True
        if schema not in named or schema in seen:
            return False
        seen.add(schema)
        schema = named[schema]
    if not isinstance(schema, Mapping):
        return False
    kind = schema.get("type")
    if kind == "fixed":
        return schema.get("size") == 0
    if kind == "record":
        return all(_no_bytes(field["type"], named, seen) for field in schema["fields"])
    return isinstance(kind, str) and kind not in _WRITTEN and _no_bytes(kind, named, seen)
