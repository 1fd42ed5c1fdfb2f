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
from microlib.core.errors import FieldViolation, InvalidArgument
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
    """

    __slots__ = ("_adapter", "_check", "_name", "_read", "_schema", "_write")

    def __init__(self, payload_type: type[Any], schema: Mapping[str, Any], message: str) -> None:
        require("avro", f"the Avro payload of message {message}")
        from fastavro import parse_schema, schemaless_reader, schemaless_writer
        from fastavro.validation import validate

        self._schema = parse_schema(dict(schema))
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
