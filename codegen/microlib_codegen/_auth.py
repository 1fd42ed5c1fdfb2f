"""Read the ``(microlib.v1.auth)`` method and service options from descriptors.

The generator has no compiled module for ``microlib/v1/auth.proto``: the
option arrives as an unknown extension (field 51770) inside the serialized
``MethodOptions`` / ``ServiceOptions``, and is decoded here with
``AuthRule``'s own three-field wire format.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from microlib_codegen.model import AuthRule

__all__ = ["AUTH_FIELD", "method_auth"]

AUTH_FIELD = 51770
"""The field number of both ``microlib.v1.auth`` and ``microlib.v1.default_auth``."""

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def method_auth(
    method: descriptor_pb2.MethodOptions, service: descriptor_pb2.ServiceOptions
) -> AuthRule | None:
    """The effective rule of a method: its own ``auth``, else the service's ``default_auth``.

    Args:
        method: The method's options.
        service: Its service's options.

    Returns:
        The rule, or None when neither declares one.
    """
    return _rule(method.SerializeToString()) or _rule(service.SerializeToString())


def _rule(options: bytes) -> AuthRule | None:
    payload = None
    for number, value in _fields(options):
        if number == AUTH_FIELD and isinstance(value, bytes):
            payload = value  # the last occurrence wins, as in protobuf
    if payload is None:
        return None
    public = False
    scopes: list[str] = []
    roles: list[str] = []
    for number, value in _fields(payload):
        if number == 1 and isinstance(value, int):
            public = bool(value)
        elif number in (2, 3) and isinstance(value, bytes):
            (scopes if number == 2 else roles).append(value.decode("utf-8"))
    return AuthRule(public, tuple(scopes), tuple(roles))


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
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
