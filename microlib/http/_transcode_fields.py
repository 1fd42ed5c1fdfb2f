"""Field paths of a request message: lookup, and text values to JSON values.

Path variables and query parameters arrive as text; they are placed into the
request's JSON document (by JSON name, so they merge with a body) as the
JSON value the field's type expects, and the message's JSON mapping then
checks them like any other JSON. Errors name the field's JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = ["client_path", "field_chain", "json_path", "put", "put_entry"]

_WRAPPERS = frozenset(
    f"google.protobuf.{n}Value"
    for n in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
_INTEGERS = frozenset(
    {
        FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)  # fmt: skip
# An integer in a URL, as grpc-gateway reads one (strconv.ParseInt) and the served document
# states it: ASCII digits and an optional minus. The JSON mapping takes `1e3`, `5.0` or ` 1`
# in a body's string, which the document's pattern does not allow; its range is checked there.
_INTEGER = re.compile(r"-?[0-9]+")
# Messages whose JSON form is a string: a query parameter can carry them.
_TEXT_MESSAGES = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
)


def field_chain(descriptor: Descriptor, path: Sequence[str]) -> list[FieldDescriptor] | None:
    """The fields a dotted path walks through; proto or JSON names; None if unknown."""
    chain: list[FieldDescriptor] = []
    current: Descriptor | None = descriptor
    for name in path:
        if current is None:
            return None
        fd = current.fields_by_name.get(name) or _by_json_name(current, name)
        if fd is None:
            return None
        chain.append(fd)
        current = fd.message_type if fd.type == FieldDescriptor.TYPE_MESSAGE else None
    return chain


def json_path(chain: Sequence[FieldDescriptor]) -> str:
    """The JSON-name path of a field chain (``book.priceCents``)."""
    return ".".join(fd.json_name for fd in chain)


# One step of a violation's field path: a name, an index or a quoted map key.
_STEP = re.compile(r"""\.?([A-Za-z_][A-Za-z0-9_]*)|(\[[^\]]*\])""")


def client_path(descriptor: Descriptor, path: str, *, original_names: bool) -> str:
    """A violation's field path as a REST client writes it.

    Validation (REQUIRED, ``buf.validate``) and handlers name fields by their
    proto names (``update_mask``, ``items[2].unit_price``); a REST client
    wrote JSON names, so the path is renamed field by field (kept as proto
    names with ``original_names``). A JSON name, an index, a map key and
    anything that is no field of the message are kept as they are.

    Args:
        descriptor: The request message.
        path: The violation's field path.
        original_names: Keep proto names (``transcoding.original_names``).
    """
    out: list[str] = []
    current: Descriptor | None = descriptor
    at = 0
    for step in _STEP.finditer(path):
        if step.start() != at:
            break
        at = step.end()
        name, bracket = step.groups()
        if bracket is not None:
            out.append(bracket)
            continue
        fd = None if current is None else current.fields_by_name.get(name) or _by_json_name(current, name)
        if fd is None:
            current = None
            out.append(f".{name}" if out else name)
            continue
        out.append(("." if out else "") + (fd.name if original_names else fd.json_name))
        current = fd.message_type if fd.type == FieldDescriptor.TYPE_MESSAGE else None
        if current is not None and current.GetOptions().map_entry:
            current = current.fields_by_name["value"].message_type
    return "".join(out) + path[at:]


def put(document: dict[str, Any], chain: Sequence[FieldDescriptor], texts: Sequence[str]) -> None:
    """Set the field ``chain`` leads to in ``document`` from text values.

    A path value replaces whatever the body put there (the path binds it);
    a repeated field takes every value, a singular one exactly one.

    Raises:
        InvalidArgument: The field cannot come from text (a message, a map),
            or a value does not fit its type.
    """
    target = _parent(document, chain)
    leaf = chain[-1]
    path = json_path(chain)
    if _is_map(leaf):
        raise _bad(path, f"a map field: each entry is its own parameter, {path}[key]=value")
    if len(texts) > 1 and not _is_repeated(leaf):
        # As grpc-gateway: a singular field given twice is an error, not the last value.
        raise _bad(path, f"takes one value, got {len(texts)}")
    values = [_value(leaf, text, path) for text in texts]
    _drop_alias(target, leaf)
    target[leaf.json_name] = values if _is_repeated(leaf) else values[-1]


def put_entry(
    document: dict[str, Any], chain: Sequence[FieldDescriptor], key: str, texts: Sequence[str]
) -> None:
    """Set the entry ``key`` of the map field ``chain`` leads to, from ``field[key]=text``.

    The key stays text (a proto3 JSON map key is a string, and the JSON mapping
    checks it against the key's type); the value is read as a field of the map's
    value type. Entries of one map from several parameters merge.

    Raises:
        InvalidArgument: The field is no map, the entry is given twice, or its
            value type cannot come from text (a message), naming the parameter.
    """
    leaf = chain[-1]
    path = f"{json_path(chain)}[{key!r}]"  # as the JSON mapping names an entry
    if not _is_map(leaf):
        raise _bad(path, f"{json_path(chain)} is not a map field, so it takes no [key]")
    if len(texts) > 1:
        # As grpc-gateway: one value per key.
        raise _bad(path, f"takes one value, got {len(texts)}")
    entry_type: Any = leaf.message_type  # a map entry, as _is_map said
    if entry_type.fields_by_name["key"].type in _INTEGERS and not _INTEGER.fullmatch(key):
        raise _bad(path, f"expected an integer, got {key!r}")
    value = _value(entry_type.fields_by_name["value"], texts[0], path)
    target = _parent(document, chain)
    _drop_alias(target, leaf)
    entries = target.get(leaf.json_name)
    if not isinstance(entries, dict):
        entries = target[leaf.json_name] = {}
    entries[key] = value


def _parent(document: dict[str, Any], chain: Sequence[FieldDescriptor]) -> dict[str, Any]:
    """The object of ``document`` that holds the last field of ``chain``, made as needed."""
    target = document
    for fd in chain[:-1]:
        _drop_alias(target, fd)
        child = target.get(fd.json_name)
        if not isinstance(child, dict):
            child = target[fd.json_name] = {}
        target = child
    return target


def _is_map(fd: FieldDescriptor) -> bool:
    return fd.message_type is not None and bool(fd.message_type.GetOptions().map_entry)


def _is_repeated(fd: FieldDescriptor) -> bool:
    return bool(fd.is_repeated)


def _drop_alias(target: dict[str, Any], fd: FieldDescriptor) -> None:
    if fd.name != fd.json_name:
        target.pop(fd.name, None)


def _by_json_name(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    for fd in descriptor.fields:
        if fd.json_name == name:
            return fd
    return None


def _value(fd: FieldDescriptor, text: str, path: str) -> Any:
    kind = fd.type
    message: Any = fd.message_type
    if kind == FieldDescriptor.TYPE_MESSAGE:
        full = message.full_name
        if full in _WRAPPERS:
            return _value(message.fields_by_name["value"], text, path)
        if full in _TEXT_MESSAGES:
            return text
        raise _bad(path, f"a {full} cannot be set from the URL (only in a JSON body)")
    if kind == FieldDescriptor.TYPE_BOOL:
        if text in ("true", "false"):
            return text == "true"
        raise _bad(path, f"expected true or false, got {text!r}")
    if kind == FieldDescriptor.TYPE_ENUM:
        # ASCII digits only: `¹` is a str.isdigit() that int() refuses (a 500 schemathesis found).
        return int(text) if _INTEGER.fullmatch(text) else text
    if kind in _INTEGERS and not _INTEGER.fullmatch(text):
        raise _bad(path, f"expected an integer, got {text!r}")
    # Numbers stay text: the JSON mapping accepts numbers as strings and
    # checks their range (and a float's form) itself.
    return text


def _bad(path: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{path}: {description}", violations=[FieldViolation(path, description, "type")])
