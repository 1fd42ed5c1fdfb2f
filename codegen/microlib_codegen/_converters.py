"""Python source for the per-message converters (betterproto2 ⇄ upb).

Each message gets ``to_pb_X`` and ``from_pb_X``: one constructor call with a
keyword per field, specialised at generation time for the field's shape
(scalar, enum, message, well-known value; singular, optional, repeated, map)
so that no reflection runs per call. upb then does the wire work.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from microlib_codegen.model import Field, FieldKind, MessageType, TypeRef, WellKnown

__all__ = ["Converter", "converter", "ident", "module_alias"]


def ident(full_name: str) -> str:
    """A Python identifier for a qualified contract name (``shop__v1__Book``)."""
    return full_name.replace(".", "__")


def module_alias(package: str) -> str:
    """The alias under which a betterproto2 package module is imported."""
    return f"_m_{ident(package)}"


@dataclass(frozen=True, slots=True)
class Converter:
    """The source of one message's two converter functions.

    Args:
        to_pb: ``def to_pb_X(m: Book) -> Any`` source.
        from_pb: ``def from_pb_X(p: Any) -> Book`` source.
        upb_classes: Full names of upb classes the source refers to.
    """

    to_pb: str
    from_pb: str
    upb_classes: frozenset[str]


def _cls(ref: TypeRef) -> str:
    return f"{module_alias(ref.package)}.{ref.python_name}"


def _pb(full_name: str) -> str:
    return f"_pb_{ident(full_name)}"


def _read(var: str, name: str) -> str:
    if keyword.iskeyword(name) or not name.isidentifier():
        return f"getattr({var}, {name!r})"
    return f"{var}.{name}"


def _value_to_pb(ref: TypeRef | None, kind: FieldKind, expr: str, used: set[str]) -> str:
    """Expression converting one (non-None) Python value to its upb form."""
    if kind is not FieldKind.MESSAGE or ref is None:
        return expr
    used.add(ref.full_name)
    if ref.well_known is WellKnown.TIMESTAMP:
        return f"_c.timestamp_to_pb({_pb(ref.full_name)}, {expr})"
    if ref.well_known is WellKnown.DURATION:
        return f"_c.duration_to_pb({_pb(ref.full_name)}, {expr})"
    if ref.well_known is WellKnown.WRAPPER:
        return f"{_pb(ref.full_name)}(value={expr})"
    return f"to_pb_{ident(ref.full_name)}({expr})"


def _value_from_pb(ref: TypeRef | None, kind: FieldKind, expr: str) -> str:
    """Expression converting one upb value to what users see."""
    if ref is None:
        return expr
    if kind is FieldKind.ENUM:
        return f"_c.enum_from_pb({_cls(ref)}, {expr})"
    if ref.well_known is WellKnown.TIMESTAMP:
        return f"_c.timestamp_from_pb({expr})"
    if ref.well_known is WellKnown.DURATION:
        return f"_c.duration_from_pb({expr})"
    if ref.well_known is WellKnown.WRAPPER:
        return f"{expr}.value"
    return f"from_pb_{ident(ref.full_name)}({expr})"


def _converts(f: Field) -> bool:
    return f.kind is FieldKind.MESSAGE


def _to_pb_field(f: Field, used: set[str]) -> str:
    src = f"m.{f.python_name}"
    if f.map_key is not None:
        if not _converts(f):
            return src
        return f"{{k: {_value_to_pb(f.type, f.kind, 'v', used)} for k, v in {src}.items()}}"
    if f.repeated:
        if not _converts(f):
            return src
        return f"[{_value_to_pb(f.type, f.kind, 'v', used)} for v in {src}]"
    if f.kind is FieldKind.MESSAGE:
        return f"None if {src} is None else {_value_to_pb(f.type, f.kind, src, used)}"
    return src


def _from_pb_field(f: Field) -> str:
    src = _read("p", f.name)
    if f.map_key is not None:
        if f.kind is FieldKind.SCALAR:
            return f"dict({src})"
        return f"{{k: {_value_from_pb(f.type, f.kind, 'v')} for k, v in {src}.items()}}"
    if f.repeated:
        if f.kind is FieldKind.SCALAR:
            return f"list({src})"
        return f"[{_value_from_pb(f.type, f.kind, 'v')} for v in {src}]"
    value = _value_from_pb(f.type, f.kind, src)
    if f.presence:
        return f"{value} if p.HasField({f.name!r}) else None"
    return value


def converter(message: MessageType) -> Converter:
    """The converter source for ``message`` (module-level functions)."""
    name = ident(message.ref.full_name)
    cls = _cls(message.ref)
    used: set[str] = {message.ref.full_name}
    plain: list[str] = []
    special: list[str] = []
    for f in message.fields:
        value = _to_pb_field(f, used)
        if keyword.iskeyword(f.name) or not f.name.isidentifier():
            special.append(f"{f.name!r}: {value}")
        else:
            plain.append(f"{f.name}={value}")
    if special:
        plain.append("**{" + ", ".join(special) + "}")
    to_args = "".join(f"        {arg},\n" for arg in plain)
    construct = (
        f"{_pb(message.ref.full_name)}(\n{to_args}    )" if plain else f"{_pb(message.ref.full_name)}()"
    )
    to_pb = (
        f"def to_pb_{name}(m: {cls}) -> Any:\n"
        f"    p = {construct}\n"
        "    if m._unknown_fields:\n"
        "        p.MergeFromString(m._unknown_fields)\n"
        "    return p\n"
    )
    from_args = "".join(f"        {f.python_name}={_from_pb_field(f)},\n" for f in message.fields)
    body = f"{cls}(\n{from_args}    )" if from_args else f"{cls}()"
    from_pb = (
        f"def from_pb_{name}(p: Any) -> {cls}:\n"
        f"    m = {body}\n"
        "    if unknown := _c.unknown_fields(p):\n"
        "        m._unknown_fields = unknown\n"
        "    return m\n"
    )
    return Converter(to_pb=to_pb, from_pb=from_pb, upb_classes=frozenset(used))
