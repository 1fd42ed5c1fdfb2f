"""Python source for the per-message converters (betterproto2 ⇄ upb).

Each message gets ``to_pb_X`` and ``from_pb_X``, specialised at generation
time for each field's shape (scalar, enum, message, well-known value; singular,
optional, repeated, map) so that no reflection runs per call. ``to_pb_X``
writes the fields into the upb message one statement each, nested messages,
Timestamps and maps in place (upb's constructor takes keywords several times
slower, and a nested message built apart is copied in); ``from_pb_X`` is one
constructor call with the fields by position, in declaration order (the order
of the dataclass's fields, which betterproto2 also takes from the
descriptor): matching ten keywords costs the call nearly as much as the rest
of ``__init__``; a declared enum number is looked up in the enum's own table
and an empty ``UnknownFieldSet`` tested in place, the runtime's helpers
called only for an undeclared number or unknown fields (a Python call costs
about as much as the lookup and the test together). upb then does the wire work.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from microlib_codegen.model import EnumType, Field, FieldKind, MessageType, TypeRef, WellKnown

__all__ = ["Converter", "converter", "enum_members", "ident", "module_alias"]


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
        to_pb: ``def to_pb_X(m: Book, p: Any = None) -> Any`` source: writes
            ``m`` into ``p`` (a new upb message when None) and returns it.
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


def _write_message(ref: TypeRef | None, expr: str, target: str) -> str:
    """Statement writing one (non-None) message value into the upb message ``target``."""
    assert ref is not None, "a message field names its type"
    if ref.well_known is WellKnown.TIMESTAMP:
        return f"_c.write_timestamp({target}, {expr})"
    if ref.well_known is WellKnown.DURATION:
        return f"_c.write_duration({target}, {expr})"
    if ref.well_known is WellKnown.WRAPPER:
        return f"{target}.value = {expr}"
    return f"to_pb_{ident(ref.full_name)}({expr}, {target})"


def _value_from_pb(ref: TypeRef | None, kind: FieldKind, expr: str, number: int) -> str:
    """Expression converting one upb value of field ``number`` to what users see."""
    if ref is None:
        return expr
    if kind is FieldKind.ENUM:
        # A declared number is one lookup in the enum's own table (no call); the helper,
        # only for a number the contract does not declare, keeps it as an unnamed member.
        e, members = f"e{number}", f"_EM_{ident(ref.full_name)}"
        declared = f"({e} := {members}.get({expr})) is not None"
        return f"({e} if {declared} else _c.enum_from_pb({_cls(ref)}, {expr}))"
    if ref.well_known is WellKnown.TIMESTAMP:
        return f"_c.timestamp_from_pb({expr})"
    if ref.well_known is WellKnown.DURATION:
        return f"_c.duration_from_pb({expr})"
    if ref.well_known is WellKnown.WRAPPER:
        return f"{expr}.value"
    return f"from_pb_{ident(ref.full_name)}({expr})"


def _to_pb_field(f: Field) -> tuple[list[str], bool]:
    """Statements writing field ``f`` of ``m`` into ``p``, and whether they always assign."""
    src = f"m.{f.python_name}"
    target = _read("p", f.name)
    # Names per field: mypy types a local by its first assignment.
    k, v = f"k{f.number}", f"v{f.number}"
    if f.map_key is not None:
        put = _write_message(f.type, v, f"d[{k}]") if f.kind is FieldKind.MESSAGE else f"d[{k}] = {v}"
        return ["d = " + target, f"for {k}, {v} in {src}.items():", f"    {put}"], False
    if f.repeated:
        if f.kind is not FieldKind.MESSAGE:
            return [f"{target}.extend({src})"], False
        put = _write_message(f.type, v, "add()")
        return [f"add = {target}.add", f"for {v} in {src}:", f"    {put}"], False
    if f.kind is FieldKind.MESSAGE:
        return [f"if ({v} := {src}) is not None:", f"    {_write_message(f.type, v, target)}"], False
    if f.presence:
        return [f"if ({v} := {src}) is not None:", f"    {_assign(f.name, v)}"], False
    return [_assign(f.name, src)], True


def _assign(name: str, value: str) -> str:
    if keyword.iskeyword(name) or not name.isidentifier():
        return f"setattr(p, {name!r}, {value})"
    return f"p.{name} = {value}"


def _from_pb_field(f: Field, prelude: list[str]) -> str:
    """Expression for field ``f`` of ``p``; statements it needs first go to ``prelude``."""
    src = _read("p", f.name)
    if f.map_key is not None:
        # Keys and lookups on the upb map: its items() and keys() are
        # collections.abc's Python generators, a frame per entry.
        d = f"d{f.number}"
        prelude.append(f"{d} = {src}")
        return f"{{k: {_value_from_pb(f.type, f.kind, f'{d}[k]', f.number)} for k in {d}}}"
    if f.repeated:
        if f.kind is FieldKind.SCALAR:
            return f"{src}[:]"  # a list, made by upb in one step
        return f"[{_value_from_pb(f.type, f.kind, 'v', f.number)} for v in {src}]"
    value = _value_from_pb(f.type, f.kind, src, f.number)
    if f.presence:
        return f"{value} if p.HasField({f.name!r}) else None"
    return value


def converter(message: MessageType) -> Converter:
    """The converter source for ``message`` (module-level functions)."""
    name = ident(message.ref.full_name)
    cls = _cls(message.ref)
    writes: list[str] = []
    assigns = False
    for f in message.fields:
        lines, always = _to_pb_field(f)
        writes += lines
        assigns |= always
    # Writing into a parent's field marks that field set once anything is
    # assigned; a message whose fields may all be skipped marks it itself.
    created = ["if p is None:", f"    p = {_pb(message.ref.full_name)}()"]
    if not assigns:
        created += ["else:", "    p.SetInParent()"]
    to_pb = (
        f"def to_pb_{name}(m: {cls}, p: Any = None) -> Any:\n"
        + "".join(f"    {line}\n" for line in [*created, *writes])
        + "    if m._unknown_fields:\n"
        "        p.MergeFromString(m._unknown_fields)\n"
        "    return p\n"
    )
    prelude: list[str] = []
    from_args = "".join(f"        {_from_pb_field(f, prelude)},  # {f.python_name}\n" for f in message.fields)
    body = f"{cls}(\n{from_args}    )" if from_args else f"{cls}()"
    from_pb = (
        f"def from_pb_{name}(p: Any) -> {cls}:\n"
        + "".join(f"    {line}\n" for line in prelude)
        + f"    m = {body}\n"
        # The set is empty (falsy) for nearly every message: tested without a call of ours.
        "    if UnknownFieldSet(p):\n"
        "        m._unknown_fields = _c.unknown_fields(p)\n"
        "    return m\n"
    )
    return Converter(to_pb=to_pb, from_pb=from_pb, upb_classes=frozenset({message.ref.full_name}))


def enum_members(enum: EnumType) -> str:
    """Module-level source: the enum's members by number, which ``from_pb_X`` looks values up in."""
    return f"_EM_{ident(enum.ref.full_name)} = _c.enum_members({_cls(enum.ref)})\n"
