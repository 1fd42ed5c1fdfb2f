"""Read the fields of serialized protobuf bytes without a compiled message type.

Options the generator has no Python module for (``microlib.v1.auth``,
``buf.validate``) stay unknown extensions inside the options' bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["fields", "length_delimited", "without"]

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """``(field number, value)`` in wire order: ints for varints, bytes for length-delimited.

    Raises:
        ValueError: A group (deprecated wire types 3 and 4).
    """
    out: list[tuple[int, int | bytes]] = []
    for number, value, _, _ in _records(data):
        if value is not None:
            out.append((number, value))
    return out


def without(data: bytes, number: int) -> bytes:
    """``data`` with every occurrence of field ``number`` left out, the other fields byte for byte.

    Raises:
        ValueError: A group (deprecated wire types 3 and 4).
    """
    return b"".join(data[start:end] for n, _, start, end in _records(data) if n != number)


def length_delimited(number: int, payload: bytes) -> bytes:
    """Field ``number`` holding ``payload``, encoded as protobuf writes it."""
    return _encode_varint(number << 3 | _LEN) + _encode_varint(len(payload)) + payload


def _records(data: bytes) -> Iterator[tuple[int, int | bytes | None, int, int]]:
    """``(field number, value, start, end)`` per field; fixed-width values are not decoded (None)."""
    position = 0
    while position < len(data):
        start = position
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        value: int | bytes | None = None
        if wire == _VARINT:
            value, position = _varint(data, position)
        elif wire == _LEN:
            size, position = _varint(data, position)
            value = data[position : position + size]
            position += size
        elif wire in (_I64, _I32):
            position += 8 if wire == _I64 else 4
        else:
            raise ValueError(f"unsupported wire type {wire} in options")
        yield number, value, start, position


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
