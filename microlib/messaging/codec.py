"""Typed payloads to wire bytes and back, and what travels beside them.

Generated code builds each :class:`MessageDefinition`'s ``decode`` and
``encode``; for JSON payloads described by pydantic models (or any type
pydantic validates) :func:`json_decoder` and :func:`json_encoder` are those
functions. A decoder reports every invalid field of the payload as one
``InvalidArgument`` whose violations are named by path under ``payload``
(``payload.lines[0].qty``, as the HTTP edge names a body's
``body.lines[0].qty``), which dead-lettering keeps in the headers.
:func:`header_values` turns a typed headers model into the string headers a
broker carries, and :func:`check_headers` reads them back against the model:
a received message is held to its ``headers`` schema as to its payload's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from functools import cache
from typing import Any, cast

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from microlib.core._formats import format_plan
from microlib.core._json_depth import MAX_JSON_DEPTH, check_json_depth
from microlib.core._strict_json import contract_json
from microlib.core._violations import document_violations
from microlib.core.errors import Error, FieldViolation, InvalidArgument
from microlib.messaging.definition import MessageDefinition, OperationDefinition

__all__ = [
    "MESSAGE_HEADER",
    "check_headers",
    "decode_payload",
    "header_at",
    "header_name",
    "header_values",
    "json_decoder",
    "json_encoder",
    "located",
    "message_for_payload",
    "message_key",
    "read_payload",
    "refused",
]

MESSAGE_HEADER = "x-microlib-message"
"""The header naming which of an operation's messages a payload is (``oneOf``)."""


def json_decoder(
    payload_type: type[Any], message: str | None = None, *, max_depth: int = MAX_JSON_DEPTH
) -> Callable[[bytes], Any]:
    """A ``decode`` for JSON payloads of ``payload_type``, validated as the contract's JSON Schema says.

    The rules are those of an HTTP body: strict JSON types (``"4"`` is not
    an integer, ``4.0`` is), and string formats as written (``"86400"`` is
    not a ``date``), so a contract means the same on every door.

    Args:
        payload_type: The payload's model (or any type pydantic validates).
        message: The message's name in the contract, for errors (default:
            the type's name).
        max_depth: The deepest nesting of a payload accepted.

    Raises (from the returned function):
        InvalidArgument: naming each invalid field (``payload.lines[0].qty``),
            or ``payload`` with rule ``json`` for bytes that are not JSON, or
            with reason ``JSON_TOO_DEEP`` naming ``max_depth``.
    """
    validator = TypeAdapter(payload_type).validator
    name = message or str(getattr(payload_type, "__name__", payload_type))

    def decode(raw: bytes) -> Any:
        check_json_depth(raw, max_depth, where="payload")
        # Formats as written, reported beside what pydantic refuses; planned once, then remembered.
        payload, found = contract_json(validator, format_plan(cast("Hashable", payload_type)), raw, "payload")
        if found:
            raise refused(f"payload of message {name}", "INVALID_PAYLOAD", found)
        return payload

    return decode


def refused(what: str, reason: str, violations: list[FieldViolation]) -> InvalidArgument:
    """The error of a message's part the contract refuses (``what``: ``payload of message
    OrderPlaced``): its first violation in the text, every one in the details."""
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return InvalidArgument(
        f"invalid {what}: {first.field}: {first.description}{more}",
        reason=reason,
        domain="microlib",
        violations=violations,
    )


def json_encoder(payload_type: type[Any]) -> Callable[[Any], bytes]:
    """An ``encode`` writing ``payload_type`` values as JSON (by field alias)."""
    adapter: TypeAdapter[Any] = TypeAdapter(payload_type)

    def encode(payload: Any) -> bytes:
        return adapter.dump_json(payload, by_alias=True)

    return encode


def header_values(headers: BaseModel | None) -> dict[str, str] | None:
    """A typed headers model as broker headers: names as the contract writes
    them, strings as they are, other values as compact JSON (``5``, ``true``).

    Returns:
        None for None; fields left unset or None are not sent.
    """
    if headers is None:
        return None
    values = headers.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        name: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        for name, value in values.items()
    }


def check_headers(message: MessageDefinition, headers: Mapping[str, str]) -> None:
    """Check a received message's headers against its ``headers`` schema.

    Only the headers the schema names are read, their names matched in any
    case (brokers and microlib's consumers lower-case them); the transport's
    own (``traceparent``, ``x-microlib-message``...) are not the
    application's. Each value is text, read as :func:`header_values` writes
    it: a string as it is, a number or a boolean from its text (``50``), an
    object or an array from its JSON.

    Raises:
        InvalidArgument: naming each bad header (``headers.my-app-header``),
            reason ``INVALID_HEADERS``.
    """
    model = message.headers_type
    if model is None:
        return
    names = _header_names(cast("type[BaseModel]", model))
    values: dict[str, Any] = {}
    for name, value in headers.items():
        alias = names.get(name.lower())
        if alias is not None:
            values[alias] = _header_value(value)
    try:
        model.__pydantic_validator__.validate_strings(values)
    except ValidationError as exc:
        violations = document_violations(exc, values, "headers")
        raise refused(f"headers of message {message.name}", "INVALID_HEADERS", violations) from None


@cache
def _header_names(model: type[BaseModel]) -> dict[str, str]:
    """The contract's name of each header ``model`` declares, by its lower-cased name."""
    return {(info.alias or name).lower(): info.alias or name for name, info in model.model_fields.items()}


def _header_value(text: str) -> Any:
    # header_values writes an object or an array as JSON; any other text is read
    # by the field's type (validate_strings), so a string header stays as sent.
    if text[:1] in ("{", "["):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        if isinstance(parsed, dict | list):
            return parsed
    return text


def message_for_payload(operation: OperationDefinition, payload: Any) -> MessageDefinition:
    """The operation's message whose payload type ``payload`` is.

    Raises:
        TypeError: ``payload`` is none of the operation's payload types,
            naming them.
    """
    for message in operation.messages:
        if isinstance(payload, message.payload_type):
            return message
    expected = ", ".join(m.payload_type.__name__ for m in operation.messages)
    raise TypeError(f"operation {operation.name} sends {expected}, not {type(payload).__name__}")


def read_payload(
    operation: OperationDefinition, headers: Mapping[str, str], body: bytes
) -> tuple[MessageDefinition, Any]:
    """Which of the operation's messages a delivery carries, and its payload.

    The ``x-microlib-message`` header names the message. Without it (a
    producer other than microlib), the body is the first of the operation's
    messages, in the contract's order, whose payload it is.

    Args:
        operation: The receive (or reply) operation.
        headers: The delivery's headers, names in lower case.
        body: The delivery's body.

    Raises:
        InvalidArgument: the header names a message the operation does not
            carry, or the body is a valid payload of none of its messages
            (with the first message's violations).
    """
    messages = operation.messages
    name = headers.get(MESSAGE_HEADER)
    if name is not None:
        message = _named(operation, name)
        return message, decode_payload(message, body)
    if len(messages) == 1:
        return messages[0], decode_payload(messages[0], body)
    refusals: list[InvalidArgument] = []
    for message in messages:
        try:
            return message, decode_payload(message, body)
        except InvalidArgument as exc:
            refusals.append(exc)
    first = refusals[0]
    names = ", ".join(m.name for m in messages)
    raise InvalidArgument(
        f"payload is none of operation {operation.name}'s messages ({names}) and no {MESSAGE_HEADER} "
        f"header names one; as {messages[0].name}: {first.message}",
        reason=first.reason,
        domain=first.domain,
        violations=first.violations,
    )


def _named(operation: OperationDefinition, name: str) -> MessageDefinition:
    for message in operation.messages:
        if message.name == name:
            return message
    raise InvalidArgument(
        f"operation {operation.name} carries no message {name!r} (header {MESSAGE_HEADER})",
        reason="UNKNOWN_MESSAGE",
        domain="microlib",
    )


def decode_payload(message: MessageDefinition, body: bytes) -> Any:
    """``message.decode(body)``, any failure reported as ``InvalidArgument``.

    Raises:
        InvalidArgument: the body is not a valid payload of ``message``.
    """
    try:
        return message.decode(body)
    except Error:
        raise  # a decoder that reports bad input itself knows best
    except Exception as exc:
        raise InvalidArgument(
            f"payload is not a valid {message.name}: {type(exc).__name__}: {exc}",
            reason="INVALID_PAYLOAD",
            domain="microlib",
        ) from None


def message_key(operation: OperationDefinition, payload: Any, headers: Mapping[str, str]) -> str | None:
    """The message key the contract locates (``$message.payload#/orderId``), as text.

    Returns:
        None when the operation declares no key or the value is absent.
    """
    return located(operation.key, headers, payload)


def located(location: str | None, headers: Mapping[str, str], payload: Any) -> str | None:
    """The value a runtime expression locates in a message, as text (JSON's, for a
    number, a boolean or a date-time: ``3``, ``true``, ``2024-01-01T00:00:00Z``).

    ``$message.payload#/a/b`` reads the payload (its JSON names); ``$message.header#/name``
    a header, its name matched in any case, and ``$message.header#/MQMD/CorrelId``
    inside a header holding a JSON object.

    Returns:
        None for no location, or a value absent from the message.
    """
    if location is None:
        return None
    source, _, pointer = location.partition("#")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/") if p]
    value: Any = payload
    if source.endswith("header"):
        if not parts:
            return None
        value = _header(headers, parts[0])
        parts = parts[1:]
        if parts and value is not None:
            value = _header_value(value)
    for part in parts:
        value = _member(value, part)
        if value is None:
            return None
    return None if value is None else _as_text(value)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    plain = to_jsonable_python(value, by_alias=True)
    return plain if isinstance(plain, str) else json.dumps(plain, separators=(",", ":"))


def header_name(location: str | None) -> str | None:
    """The header a runtime expression locates (``$message.header#/replyTo`` gives
    ``replyTo``); None for a payload location, or none."""
    prefix = "$message.header#/"
    if location is None or not location.startswith(prefix) or "/" in location[len(prefix) :]:
        return None
    return location[len(prefix) :].replace("~1", "/").replace("~0", "~") or None


def header_at(headers: Mapping[str, str], location: str | None) -> str | None:
    """The value of the header ``location`` names, its name matched in any case."""
    name = header_name(location)
    return None if name is None else _header(headers, name)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    found = headers.get(name)
    if found is None:
        lowered = name.lower()
        found = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return found


def _member(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(name)
    if isinstance(value, list | tuple):
        return value[int(name)] if name.isdigit() and int(name) < len(value) else None
    fields = getattr(type(value), "model_fields", None)
    if fields is not None and name not in fields:
        # A JSON name that differs from the attribute (a pydantic alias).
        for attribute, info in fields.items():
            if info.alias == name:
                return getattr(value, attribute, None)
    return getattr(value, name, None)
