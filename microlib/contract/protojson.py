"""The proto3 JSON mapping: options, and the helpers generated converters call.

``microlib codegen`` writes, per message, ``to_json_X(message, options)`` and
``from_json_X(value, path, options)`` into the package's ``_codec.py`` and
lists them in its ``JSON`` registry. They work on the betterproto2
dataclasses directly (no upb, no reflection per call); the per-type value
rules (int64 as strings, bytes as base64, enums by name, Timestamp and
Duration strings) live here so every package shares one implementation.
The rarer well-known types (Struct, Value, ListValue, FieldMask, Any) go
through protobuf's ``json_format`` on the upb message. Documents equal
``json_format``'s output (tested against it).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import math
import operator
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = [
    "JsonOptions",
    "Parse",
    "bad",
    "bool_key",
    "boolean",
    "boolean_out",
    "bytes_in",
    "bytes_out",
    "double",
    "double_out",
    "duration_in",
    "duration_out",
    "enum_in",
    "float32",
    "float_out",
    "int32",
    "int64",
    "integer_out",
    "map_in",
    "message_in",
    "one_member",
    "repeated_in",
    "string",
    "string_out",
    "timestamp_in",
    "timestamp_out",
    "uint32",
    "uint64",
    "unknown",
    "upb_in",
    "upb_out",
]

Parse = Callable[[Any, str, "JsonOptions"], Any]
"""Parses one JSON value at a field path (JSON names) under options."""


@dataclass(frozen=True, slots=True)
class JsonOptions:
    """Choices the proto3 JSON mapping leaves to the implementation.

    Args:
        emit_defaults: Write fields holding their default value (``0``,
            ``""``, ``[]``) instead of leaving them out.
        original_names: Write the proto field names (``price_cents``)
            instead of lowerCamelCase (``priceCents``). Both are always
            accepted on input.
        ignore_unknown: Skip unknown fields on input instead of rejecting
            the document.
    """

    emit_defaults: bool = False
    original_names: bool = False
    ignore_unknown: bool = False


def bad(path: str, description: str, rule: str = "type") -> InvalidArgument:
    """The error for a JSON value that does not fit its field.

    Args:
        path: The field's JSON path (``book.priceCents``).
        description: What is wrong with the value.
        rule: The broken rule (``type``, ``range``, ``unknown``...).

    Returns:
        An ``InvalidArgument`` naming the field.
    """
    where = path or "body"
    return InvalidArgument(f"{where}: {description}", violations=[FieldViolation(path, description, rule)])


def unknown(path: str, key: str) -> InvalidArgument:
    """The error for a key the message does not declare."""
    return bad(f"{path}.{key}" if path else key, f"unknown field {key!r}", "unknown")


def one_member(values: dict[str, Any], members: dict[str, str], oneof: str, path: str) -> None:
    """Refuse an object that set several members of one oneof, as protobuf's json_format and
    grpc-gateway do: a message holds one member, and keeping one would drop the other silently.

    Args:
        values: The object's values read so far, by attribute name (a null member, which
            json_format does not count either, left out).
        members: The oneof's members: attribute name -> JSON name.
        oneof: The oneof's name.
        path: The object's JSON path.

    Raises:
        InvalidArgument: Naming the oneof and the members set.
    """
    present = [json_name for name, json_name in members.items() if name in values]
    if len(present) > 1:
        where = f"{path}.{oneof}" if path else oneof
        raise bad(where, f"oneof {oneof} takes one member, got {' and '.join(present)}", "oneof")


# ---------------------------------------------------------------- output


def integer_out(value: Any) -> int:
    """An integer field's value that is not an ``int``: an ``int`` subclass other than ``bool``
    (an IntEnum member), as protobuf takes it.

    Raises:
        TypeError: for anything else (a ``bool``, a ``float``, a numeric string).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"expected int, got {type(value).__name__}")


def string_out(value: Any) -> str:
    """A ``string`` field's value that is not a ``str``: a ``str`` subclass, or UTF-8 ``bytes``,
    as protobuf takes them.

    Raises:
        TypeError: for anything else; UnicodeDecodeError for bytes that are not UTF-8.
    """
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"expected str, got {type(value).__name__}")


def boolean_out(value: Any) -> bool:
    """A ``bool`` field's value that is not a ``bool``: an integer, as protobuf takes it.

    Raises:
        TypeError: for anything else (a string, a float).
    """
    return bool(operator.index(value))


def float_out(value: float) -> Any:
    """A ``float`` field: the shortest text that round-trips float32."""
    if math.isfinite(value):
        return _shortest_float32(_FLOAT32.unpack(_FLOAT32.pack(value))[0])
    return _non_finite(value)


_FLOAT32 = struct.Struct("<f")


def _shortest_float32(single: float) -> float:
    # json_format's rule (protobuf's ToShortestFloat, not a public API): the
    # fewest significant digits, from 6 (every float32 has 6 to 9), that read
    # back as the same float32.
    for digits in range(6, 9):
        rounded = float(f"{single:.{digits}g}")
        if _FLOAT32.unpack(_FLOAT32.pack(rounded))[0] == single:
            return rounded
    return float(f"{single:.9g}")


def double_out(value: float) -> Any:
    """A ``double`` field; NaN and infinities as strings."""
    return value if math.isfinite(value) else _non_finite(value)


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def bytes_out(value: bytes) -> str:
    """A ``bytes`` field: standard base64 with padding."""
    return base64.b64encode(value).decode("ascii")


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def timestamp_out(value: datetime.datetime) -> str:
    """RFC 3339 in UTC with 0, 3 or 6 fractional digits, as ``json_format`` writes."""
    utc = value.astimezone(datetime.UTC)
    text = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    micros = utc.microsecond
    if micros:
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return text + "Z"


def duration_out(value: datetime.timedelta) -> str:
    """Seconds with 0, 3 or 6 fractional digits and an ``s`` (``-1.500s``)."""
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    seconds, rest = divmod(abs(micros), 1_000_000)
    if not rest:
        return f"{sign}{seconds}s"
    fraction = f"{rest // 1000:03d}" if rest % 1000 == 0 else f"{rest:06d}"
    return f"{sign}{seconds}.{fraction}s"


def upb_out(message: Any, options: JsonOptions) -> Any:
    """Struct, Value, ListValue, FieldMask or Any via ``json_format`` on its upb message."""
    pool: Any = message.DESCRIPTOR.file.pool
    return json_format.MessageToDict(
        message,
        preserving_proto_field_name=options.original_names,
        always_print_fields_with_no_presence=options.emit_defaults,
        descriptor_pool=pool,
    )


# ----------------------------------------------------------------- input


def _integer(value: Any, path: str, low: int, high: int) -> int:
    if type(value) is int:
        number = value
    elif type(value) is float:
        if not value.is_integer():
            raise bad(path, f"expected an integer, got {value!r}")
        number = int(value)
    elif type(value) is str:
        if " " in value:
            # int() would take " 7 "; json_format refuses a space in an integer's string.
            raise bad(path, f"expected an integer, got {value!r}")
        try:
            number = int(value)
        except ValueError:
            try:
                parsed = float(value)
            except ValueError:
                raise bad(path, f"expected an integer, got {value!r}") from None
            if not parsed.is_integer():
                raise bad(path, f"expected an integer, got {value!r}") from None
            number = int(parsed)
    else:
        raise bad(path, f"expected an integer, got {_kind(value)}")
    if not low <= number <= high:
        raise bad(path, f"{number} is out of range [{low}, {high}]", "range")
    return number


def int32(value: Any, path: str, options: JsonOptions) -> int:
    """``int32``, ``sint32``, ``sfixed32``: a number or a numeric string."""
    if type(value) is int and -(2**31) <= value <= 2**31 - 1:
        return value  # the usual case, as _integer would return it, without its frame
    return _integer(value, path, -(2**31), 2**31 - 1)


def uint32(value: Any, path: str, options: JsonOptions) -> int:
    """``uint32``, ``fixed32``."""
    if type(value) is int and 0 <= value <= 2**32 - 1:
        return value  # the usual case, as _integer would return it, without its frame
    return _integer(value, path, 0, 2**32 - 1)


def int64(value: Any, path: str, options: JsonOptions) -> int:
    """``int64``, ``sint64``, ``sfixed64``: usually a string."""
    if type(value) is int and -(2**63) <= value <= 2**63 - 1:
        return value  # the usual case, as _integer would return it, without its frame
    return _integer(value, path, -(2**63), 2**63 - 1)


def uint64(value: Any, path: str, options: JsonOptions) -> int:
    """``uint64``, ``fixed64``."""
    if type(value) is int and 0 <= value <= 2**64 - 1:
        return value  # the usual case, as _integer would return it, without its frame
    return _integer(value, path, 0, 2**64 - 1)


_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def double(value: Any, path: str, options: JsonOptions) -> float:
    """``double``: a number, a numeric string, ``NaN`` or ``±Infinity``."""
    if type(value) is float or type(value) is int:
        return float(value)
    if type(value) is str:
        if value in _SPECIAL:
            return _SPECIAL[value]
        try:
            number = float(value)
        except ValueError:
            raise bad(path, f"expected a number, got {value!r}") from None
        if math.isfinite(number):
            return number
    raise bad(path, f"expected a number, got {_kind(value)}")


def float32(value: Any, path: str, options: JsonOptions) -> float:
    """``float``: as ``double``, within float32's range."""
    number = double(value, path, options)
    if math.isfinite(number):
        # Out of range only if it rounds to infinity: the largest float is
        # written 3.4028235e+38, just above it as a double, and must read back
        # (json_format refuses its own output there).
        try:
            struct.pack("<f", number)
        except OverflowError:
            raise bad(path, f"{number} is out of range for a float", "range") from None
    return number


def boolean(value: Any, path: str, options: JsonOptions) -> bool:
    """``bool``: ``true`` or ``false`` only."""
    if type(value) is bool:
        return value
    raise bad(path, f"expected true or false, got {_kind(value)}")


def string(value: Any, path: str, options: JsonOptions) -> str:
    """``string``."""
    if type(value) is str:
        return value
    raise bad(path, f"expected a string, got {_kind(value)}")


def bytes_in(value: Any, path: str, options: JsonOptions) -> bytes:
    """``bytes``: standard or URL-safe base64, padding optional."""
    if type(value) is not str:
        raise bad(path, f"expected base64 text, got {_kind(value)}")
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise bad(path, "not valid base64") from None


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def timestamp_in(value: Any, path: str, options: JsonOptions) -> datetime.datetime:
    """``google.protobuf.Timestamp``: RFC 3339 (nanoseconds truncated to µs)."""
    found = _RFC3339.fullmatch(value) if type(value) is str else None
    if found is None:
        raise bad(path, f"expected an RFC 3339 timestamp, got {_short(value)}")
    year, month, day, hour, minute, second, fraction, _, sign, oh, om = found.groups()
    try:
        moment = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((fraction or "0").ljust(9, "0")[:6]), tzinfo=datetime.UTC,
        )  # fmt: skip
    except ValueError as exc:
        raise bad(path, f"not a valid timestamp: {exc}") from None
    if sign:
        offset = datetime.timedelta(hours=int(oh), minutes=int(om))
        try:
            moment = moment - offset if sign == "+" else moment + offset
        except OverflowError:
            # In UTC before 0001-01-01 or after 9999-12-31: outside Timestamp's range.
            raise bad(
                path, f"timestamp {value!r} is out of range (years 1 to 9999 in UTC)", "range"
            ) from None
    return moment


_DURATION = re.compile(r"(-)?(\d+)(?:\.(\d{1,9}))?s")
_MAX_DURATION = 315_576_000_000


def duration_in(value: Any, path: str, options: JsonOptions) -> datetime.timedelta:
    """``google.protobuf.Duration``: ``"1.5s"`` (nanoseconds truncated to µs)."""
    found = _DURATION.fullmatch(value) if type(value) is str else None
    if found is None:
        raise bad(path, f"expected a duration like '1.5s', got {_short(value)}")
    sign, seconds, fraction = found.groups()
    if int(seconds) > _MAX_DURATION:
        raise bad(path, "duration is out of range", "range")
    delta = datetime.timedelta(seconds=int(seconds), microseconds=int((fraction or "0").ljust(9, "0")[:6]))
    return -delta if sign else delta


def enum_in(cls: Any, names: Mapping[str, int]) -> Parse:
    """An enum field's parser: a value name, or a number (unknown ones kept).

    Args:
        cls: The betterproto2 enum class.
        names: Contract value names to numbers.
    """
    members = {name: cls(number) for name, number in names.items()}

    def parse(value: Any, path: str, options: JsonOptions) -> Any:
        if type(value) is str:
            member = members.get(value)
            if member is None:
                raise bad(path, f"{value!r} is not one of {sorted(members)}", "enum")
            return member
        number = int32(value, path, options)
        member = cls._value2member_map_.get(number)
        return member if member is not None else cls(number)

    return parse


def message_in(parse: Callable[[Any, str, JsonOptions], Any]) -> Parse:
    """A nested message field's parser (the generated ``from_json_X``)."""
    return parse


def repeated_in(item: Parse) -> Parse:
    """A repeated field's parser: a JSON array of ``item``."""

    def parse(value: Any, path: str, options: JsonOptions) -> list[Any]:
        if type(value) is not list:
            raise bad(path, f"expected an array, got {_kind(value)}")
        return [item(v, f"{path}[{i}]", options) for i, v in enumerate(value)]

    return parse


def map_in(key: Parse, item: Parse) -> Parse:
    """A map field's parser: a JSON object; keys parsed from their text."""

    def parse(value: Any, path: str, options: JsonOptions) -> dict[Any, Any]:
        if type(value) is not dict:
            raise bad(path, f"expected an object, got {_kind(value)}")
        return {
            key(k, f"{path}[{k!r}]", options): item(v, f"{path}[{k!r}]", options) for k, v in value.items()
        }

    return parse


def bool_key(value: Any, path: str, options: JsonOptions) -> bool:
    """A ``bool`` map key: ``"true"`` or ``"false"``."""
    if value in ("true", "false"):
        return bool(value == "true")
    raise bad(path, f"expected 'true' or 'false' as a key, got {value!r}")


# lowerCamelCase field paths, "*" (AIP-161's wildcard) as a segment; the
# generated OpenAPI documents the same pattern (microlib_codegen.openapi_from_proto).
# json_format takes any text without "_" ("a b", "é"), which no field is named.
_MASK_PATH = r"(?:[a-z][a-zA-Z0-9]*|\*)(?:\.(?:[a-z][a-zA-Z0-9]*|\*))*"
_FIELD_MASK = re.compile(rf"(?:{_MASK_PATH}(?:,{_MASK_PATH})*)?")


def upb_in(upb_type: Any, from_upb: Callable[[Any], Any]) -> Parse:
    """Struct, Value, ListValue, FieldMask or Any via ``json_format`` into upb."""
    field_mask = upb_type.DESCRIPTOR.full_name == "google.protobuf.FieldMask"

    def parse(value: Any, path: str, options: JsonOptions) -> Any:
        if field_mask and type(value) is str and _FIELD_MASK.fullmatch(value) is None:
            raise bad(
                path,
                f"expected lowerCamelCase field paths separated by commas ('*' for all), got {_short(value)}",
                "pattern",
            )
        message = upb_type()
        pool: Any = message.DESCRIPTOR.file.pool
        try:
            json_format.ParseDict(
                value, message, ignore_unknown_fields=options.ignore_unknown, descriptor_pool=pool
            )
        except json_format.ParseError as exc:
            raise bad(path, str(exc)) from None
        except (AttributeError, TypeError):
            # json_format trips over some shapes instead of reporting them
            # ({"@type": []}, an Any given as an array).
            raise bad(path, f"not a valid {upb_type.DESCRIPTOR.full_name}: {_short(value)}") from None
        return from_upb(message)

    return parse


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "an object"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
