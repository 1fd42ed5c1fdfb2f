"""Read the ``(microlib.v1.auth)`` options out of serialized proto descriptors.

The runtime does not import generated code for ``microlib/v1/auth.proto``:
the option arrives as an unknown extension field inside ``MethodOptions`` /
``ServiceOptions`` bytes, which this module finds by field number and decodes
with ``AuthRule``'s own (three-field) wire format. The descriptor set is
walked the same way, by field numbers from ``google/protobuf/descriptor.proto``
(so the runtime needs no protobuf stubs for it).
"""

from __future__ import annotations

from typing import Any

AUTH_FIELD = 51770
"""The field number of both ``microlib.v1.auth`` and ``microlib.v1.default_auth``."""

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def auth_rules(file_descriptor_set: bytes) -> dict[str, dict[str, Any]]:
    """The effective auth rule of every method in a descriptor set.

    A method's own ``auth`` option replaces its service's ``default_auth``.

    Args:
        file_descriptor_set: A serialized ``FileDescriptorSet``.

    Returns:
        Rules (``{"public", "scopes", "roles"}``) by ``package.Service/Method``;
        methods with neither option are absent.
    """
    rules: dict[str, dict[str, Any]] = {}
    for file in _messages(file_descriptor_set, 1):  # FileDescriptorSet.file
        package = _string(file, 2)  # FileDescriptorProto.package
        prefix = f"{package}." if package else ""
        for service in _messages(file, 6):  # FileDescriptorProto.service
            default = _rule(_last(service, 3))  # ServiceDescriptorProto.options
            for method in _messages(service, 2):  # ServiceDescriptorProto.method
                rule = _rule(_last(method, 4)) or default  # MethodDescriptorProto.options
                if rule is not None:
                    rules[f"{prefix}{_string(service, 1)}/{_string(method, 1)}"] = rule
    return rules


def _messages(data: bytes, number: int) -> list[bytes]:
    return [value for n, value in _fields(data) if n == number and isinstance(value, bytes)]


def _last(data: bytes, number: int) -> bytes:
    found = _messages(data, number)
    return found[-1] if found else b""


def _string(data: bytes, number: int) -> str:
    return _last(data, number).decode("utf-8")


def _rule(options: bytes) -> dict[str, Any] | None:
    payload = None
    for number, value in _fields(options):
        if number == AUTH_FIELD and isinstance(value, bytes):
            payload = value  # the last occurrence wins, as in protobuf
    if payload is None:
        return None
    rule: dict[str, Any] = {"public": False, "scopes": [], "roles": []}
    for number, value in _fields(payload):
        if number == 1 and isinstance(value, int):
            rule["public"] = bool(value)
        elif number in (2, 3) and isinstance(value, bytes):
            rule["scopes" if number == 2 else "roles"].append(value.decode("utf-8"))
    return rule


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
