"""Runtime helpers the generated message converters call.

Users see betterproto2 dataclasses; the wire work is done by protobuf's upb
messages. ``microlib codegen`` writes, per message, a converter each way
between the two (see ``docs/adr/0002-message-codec.md``); the pieces they
share live here: well-known-type conversions, enum lookup, parsing with a
clean error, and :class:`MessageCodec`, the per-message bundle the HTTP
transcoder and messaging use.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = [
    "MessageCodec",
    "duration_from_pb",
    "enum_from_pb",
    "enum_members",
    "parse",
    "same_message",
    "timestamp_from_pb",
    "unknown_fields",
    "write_duration",
    "write_timestamp",
]

T = TypeVar("T")
E = TypeVar("E")

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_US = 1_000_000


def write_timestamp(target: Any, value: datetime.datetime) -> None:
    """Write an aware datetime into the upb ``google.protobuf.Timestamp`` ``target``.

    Args:
        target: The Timestamp to fill (a field of the message being built,
            which the write marks set).
        value: A timezone-aware datetime (betterproto2's representation).

    Raises:
        ValueError: ``value`` is naive (as betterproto2 itself refuses).
    """
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone aware")
    offset = value - _EPOCH
    # A timedelta keeps 0 <= seconds < 86400 and 0 <= microseconds < 10**6
    # (days carry the sign): the whole seconds rounded down and a
    # non-negative fraction, as a Timestamp wants them, without a divmod.
    target.seconds = offset.days * 86_400 + offset.seconds
    target.nanos = offset.microseconds * 1000


def timestamp_from_pb(message: Any) -> datetime.datetime:
    """The UTC datetime of a upb ``Timestamp`` (nanoseconds truncated to µs)."""
    # Positional (days, seconds, microseconds): keywords cost timedelta a parse.
    return _EPOCH + datetime.timedelta(0, message.seconds, message.nanos // 1000)


def write_duration(target: Any, value: datetime.timedelta) -> None:
    """Write a timedelta into the upb ``google.protobuf.Duration`` ``target``.

    Seconds and nanos carry the same sign, as the Duration spec requires.
    """
    micros = (value.days * 86_400 + value.seconds) * _US + value.microseconds
    seconds, rest = divmod(abs(micros), _US)
    sign = -1 if micros < 0 else 1
    target.seconds = sign * seconds
    target.nanos = sign * rest * 1000


def duration_from_pb(message: Any) -> datetime.timedelta:
    """The timedelta of a upb ``Duration`` (nanoseconds truncated toward zero)."""
    nanos: int = message.nanos
    micros = nanos // 1000 if nanos >= 0 else -(-nanos // 1000)
    return datetime.timedelta(seconds=message.seconds, microseconds=micros)


def enum_members(cls: type[E]) -> dict[int, E]:
    """The members of enum ``cls`` by number, which generated converters look a value up in.

    The enum's own table, not a copy: the unnamed members :func:`enum_from_pb`
    makes for numbers the contract does not declare are not added to it.
    """
    members: dict[int, E] = cls._value2member_map_  # type: ignore[attr-defined]
    return members


def enum_from_pb(cls: type[E], value: int) -> E:
    """The member of enum ``cls`` for ``value``; unknown numbers are kept.

    betterproto2 enums make an unnamed member for a number the contract does
    not (yet) declare, so a newer peer's value survives a round trip.
    """
    member = cls._value2member_map_.get(value)  # type: ignore[attr-defined]
    if member is not None:
        return member  # type: ignore[no-any-return]
    return cls(value)  # type: ignore[call-arg]


def unknown_fields(message: Message) -> bytes:
    """The wire bytes of the fields ``message`` carries but its schema does not know.

    A newer peer's fields survive a decode → encode round trip through the
    dataclass (betterproto2 keeps them in ``_unknown_fields``), as protobuf
    guarantees; the generated encoder merges them back.
    """
    fields = UnknownFieldSet(message)
    if not len(fields):
        return b""
    out = bytearray()
    _write_unknown(fields, out)
    return bytes(out)


def _write_unknown(fields: UnknownFieldSet, out: bytearray) -> None:
    for index in range(len(fields)):
        f = fields[index]
        number, wire, data = f.field_number, f.wire_type, f.data
        _varint(number << 3 | wire, out)
        if wire == 0:
            _varint(data & 0xFFFF_FFFF_FFFF_FFFF, out)
        elif wire == 1:
            out += data.to_bytes(8, "little")
        elif wire == 2:
            _varint(len(data), out)
            out += data
        elif wire == 3:
            _write_unknown(data, out)
            _varint(number << 3 | 4, out)
        else:
            out += data.to_bytes(4, "little")


def _varint(value: int, out: bytearray) -> None:
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def same_message(message: T) -> T:
    """The message itself: the converter each way of the upb message layer,
    whose users already hold protobuf messages."""
    return message


def parse(cls: Any, data: bytes) -> Any:
    """Parse wire bytes into a upb message of class ``cls``.

    Raises:
        InvalidArgument: The bytes are not a valid encoding of the message
            (reason ``MALFORMED_REQUEST``, as the gRPC handlers report it).
    """
    try:
        return cls.FromString(data)
    except DecodeError as exc:
        name = cls.DESCRIPTOR.full_name
        raise InvalidArgument(
            f"malformed {name} message: {exc}",
            reason="MALFORMED_REQUEST",
            domain="microlib",
            violations=[FieldViolation(field="", description=f"not a valid {name} encoding", rule="wire")],
        ) from None


@dataclass(frozen=True, slots=True)
class MessageCodec(Generic[T]):
    """Everything the runtime needs to move one message type across a wire.

    Args:
        message_type: The betterproto2 class users see.
        upb_type: The protobuf (upb) class the wire work is delegated to.
        to_upb: Dataclass → upb message.
        from_upb: upb message → dataclass.
        encode: Dataclass → wire bytes.
        decode: Wire bytes → dataclass; raises ``InvalidArgument``.
    """

    message_type: type[T]
    upb_type: type[Message]
    to_upb: Callable[[T], Any]
    from_upb: Callable[[Any], T]
    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]

    def to_json(self, message: T, *, indent: int | None = None) -> str:
        """Proto3 JSON (camelCase names, enums by name) of ``message``."""
        pb = self.to_upb(message)
        return json_format.MessageToJson(pb, indent=indent, descriptor_pool=pb.DESCRIPTOR.file.pool)

    def to_dict(self, message: T) -> dict[str, Any]:
        """The proto3 JSON mapping of ``message`` as Python objects."""
        pb = self.to_upb(message)
        return json_format.MessageToDict(pb, descriptor_pool=pb.DESCRIPTOR.file.pool)

    def from_json(self, text: str | bytes, *, ignore_unknown_fields: bool = False) -> T:
        """Parse proto3 JSON into a message.

        Raises:
            InvalidArgument: The JSON does not match the message, naming why.
        """
        pb = self.upb_type()
        try:
            json_format.Parse(text, pb, ignore_unknown_fields=ignore_unknown_fields)
        except json_format.ParseError as exc:
            raise self._invalid(exc) from None
        return self.from_upb(pb)

    def from_dict(self, value: dict[str, Any], *, ignore_unknown_fields: bool = False) -> T:
        """Build a message from the proto3 JSON mapping as Python objects.

        Raises:
            InvalidArgument: The value does not match the message, naming why.
        """
        pb = self.upb_type()
        try:
            json_format.ParseDict(value, pb, ignore_unknown_fields=ignore_unknown_fields)
        except json_format.ParseError as exc:
            raise self._invalid(exc) from None
        return self.from_upb(pb)

    def _invalid(self, exc: Exception) -> InvalidArgument:
        name = self.upb_type.DESCRIPTOR.full_name
        return InvalidArgument(
            f"invalid JSON for {name}: {exc}",
            violations=[FieldViolation(field="", description=str(exc), rule="json")],
        )
