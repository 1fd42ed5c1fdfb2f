"""microlib.contract.codec: the helpers generated converters call."""

from __future__ import annotations

import datetime as dt
import enum
import random

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from microlib.contract import codec
from microlib.core.errors import InvalidArgument


class Color(enum.IntEnum):
    """An enum that, like betterproto2's, keeps unknown numbers."""

    UNSPECIFIED = 0
    RED = 1

    @classmethod
    def _missing_(cls, value: object) -> Color | None:
        if not isinstance(value, int):
            return None
        member = int.__new__(cls, value)
        member._name_ = ""
        member._value_ = value
        return member


def _timestamp(value: dt.datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    codec.write_timestamp(message, value)
    return message


def _duration(value: dt.timedelta) -> duration_pb2.Duration:
    message = duration_pb2.Duration()
    codec.write_duration(message, value)
    return message


class TestTimestamp:
    @pytest.mark.parametrize(
        "value",
        [
            dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
            dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
            dt.datetime(2038, 1, 19, 3, 14, 8, 1, tzinfo=dt.UTC),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        ],
    )
    def test_round_trip_matches_protobuf(self, value: dt.datetime) -> None:
        """Exact to the microsecond both ways, and equal to protobuf's own conversion, before 1970 too."""
        message = _timestamp(value)
        reference = timestamp_pb2.Timestamp()
        reference.FromDatetime(value)
        assert message == reference
        assert codec.timestamp_from_pb(message) == value

    def test_random_instants_match_protobuf(self) -> None:
        """Over datetime's whole range and in any zone, the same seconds and nanos
        as protobuf's FromDatetime, and back to the same instant."""
        rng = random.Random(19)
        low, high = dt.datetime.min.replace(tzinfo=dt.UTC), dt.datetime.max.replace(tzinfo=dt.UTC)
        span = int((high - low).total_seconds())
        for _ in range(2000):
            seconds, micros = rng.randint(0, span - 1), rng.randint(0, 999_999)
            instant = low + dt.timedelta(seconds=seconds, microseconds=micros)
            zone = dt.timezone(dt.timedelta(minutes=rng.randint(-23 * 60, 23 * 60)))
            # Years 1 and 9999 stay in UTC: another zone could leave datetime's range.
            inside = dt.datetime.min.year < instant.year < dt.datetime.max.year
            value = instant.astimezone(zone) if inside else instant
            reference = timestamp_pb2.Timestamp()
            reference.FromDatetime(value)
            assert _timestamp(value) == reference, value
            assert codec.timestamp_from_pb(reference) == value

    def test_other_timezones_are_normalised_to_utc(self) -> None:
        """An aware datetime in any zone is the same instant in UTC."""
        plus_two = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        back = codec.timestamp_from_pb(_timestamp(plus_two))
        assert back == plus_two
        assert back.tzinfo is dt.UTC

    def test_naive_datetime_is_refused(self) -> None:
        """A naive datetime has no instant; it is refused as betterproto2 refuses it."""
        with pytest.raises(ValueError, match="timezone aware"):
            _timestamp(dt.datetime(2024, 1, 1))


class TestDuration:
    @pytest.mark.parametrize(
        "value", [dt.timedelta(0), dt.timedelta(seconds=-1, microseconds=1), dt.timedelta(days=-3, hours=5)]
    )
    def test_round_trip_keeps_sign_rules(self, value: dt.timedelta) -> None:
        """Seconds and nanos share a sign (the Duration spec) and match protobuf's conversion."""
        message = _duration(value)
        reference = duration_pb2.Duration()
        reference.FromTimedelta(value)
        assert message == reference
        assert message.seconds * message.nanos >= 0
        assert codec.duration_from_pb(message) == value

    def test_negative_nanos_truncate_toward_zero(self) -> None:
        """-1.5 µs is -1 µs (truncation toward zero, never a larger magnitude)."""
        message = duration_pb2.Duration(seconds=0, nanos=-1500)
        assert codec.duration_from_pb(message) == dt.timedelta(microseconds=-1)


class TestEnumAndParse:
    def test_known_and_unknown_enum_numbers(self) -> None:
        """Known numbers give their member; unknown ones survive as unnamed members."""
        assert codec.enum_from_pb(Color, 1) is Color.RED
        assert codec.enum_from_pb(Color, 0) is Color.UNSPECIFIED
        unknown = codec.enum_from_pb(Color, 42)
        assert unknown == 42
        assert isinstance(unknown, Color)

    def test_parse_translates_decode_errors(self) -> None:
        """Corrupt bytes become InvalidArgument naming the message type."""
        assert codec.parse(timestamp_pb2.Timestamp, b"\x08\x01").seconds == 1
        with pytest.raises(InvalidArgument, match=r"malformed google\.protobuf\.Timestamp message") as info:
            codec.parse(timestamp_pb2.Timestamp, b"\x08")
        assert info.value.violations[0].rule == "wire"


class TestUnknownFields:
    def test_every_wire_type_is_re_encoded(self) -> None:
        """Varint (negative too), fixed64, length-delimited, group and fixed32 unknowns keep their bytes."""
        raw = (
            b"\xa0\x06\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"  # 100: varint -1
            b"\xa9\x06\x01\x02\x03\x04\x05\x06\x07\x08"  # 101: fixed64
            b"\xb2\x06\x03abc"  # 102: bytes
            b"\xbb\x06\x08\x07\xbc\x06"  # 103: group holding field 1 = 7
            b"\xc5\x06\x01\x00\x00\x80"  # 104: fixed32
        )
        message = timestamp_pb2.Timestamp.FromString(b"\x08\x05" + raw)
        assert codec.unknown_fields(message) == raw
        assert codec.unknown_fields(timestamp_pb2.Timestamp(seconds=5)) == b""
