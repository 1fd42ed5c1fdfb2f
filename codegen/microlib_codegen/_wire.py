"""Read the fields of serialized protobuf bytes without a compiled message type.

Options the generator has no Python module for (``microlib.v1.auth``,
``buf.validate``) stay unknown extensions inside the options' bytes.
"""

from __future__ import annotations

__all__ = ["fields"]

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """``(field number, value)`` in wire order: ints for varints, bytes for length-delimited.

    Raises:
        ValueError: A group (deprecated wire types 3 and 4).
    """
    out: list[tuple[int, int | bytes]] = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, position = _varint(data, position)
            out.append((number, value))
        elif wire == _LEN:
            size, position = _varint(data, position)
            out.append((number, data[position : position + size]))
            position += size
        elif wire in (_I64, _I32):
            position += 8 if wire == _I64 else 4
        else:
            raise ValueError(f"unsupported wire type {wire} in options")
    return out


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
