"""Python source for the per-message proto3 JSON converters.

Each message gets ``to_json_X(m, o)`` (dataclass → JSON value) and
``from_json_X(d, p, o)`` (JSON value at path ``p`` → dataclass), specialised
at generation time for each field's shape so nothing is looked up per call
beyond one dict access per input key. The value rules shared by every
package live in ``microlib.contract.protojson`` (imported as ``_j``).
"""

from __future__ import annotations

from dataclasses import dataclass

from microlib_codegen.model import EnumType, Field, FieldKind, MessageType, TypeRef, WellKnown

__all__ = ["JsonConverter", "enum_parser", "json_converter"]

# Well-known messages whose JSON form is not an object of their fields:
# they go through json_format on the upb message (rare, and exact).
_VIA_UPB = frozenset(
    f"google.protobuf.{n}"
    for n in (
        "Any", "Duration", "FieldMask", "ListValue", "Struct", "Timestamp", "Value",
        "BoolValue", "BytesValue", "DoubleValue", "FloatValue", "Int32Value", "Int64Value",
        "StringValue", "UInt32Value", "UInt64Value",
    )
)  # fmt: skip
_NULL_VALUE = "google.protobuf.NullValue"
_VALUE = "google.protobuf.Value"

_PARSE = {
    "int32": "int32", "sint32": "int32", "sfixed32": "int32",
    "uint32": "uint32", "fixed32": "uint32",
    "int64": "int64", "sint64": "int64", "sfixed64": "int64",
    "uint64": "uint64", "fixed64": "uint64",
    "float": "float32", "double": "double", "bool": "boolean", "string": "string", "bytes": "bytes_in",
}  # fmt: skip
# Parsers that return a value of this exact type as it is: the converter takes such a value
# without calling them (a call costs more than the rest of a field's work).
_AS_IS = {"_j.string": "str", "_j.boolean": "bool"}
_WRAPPED = {
    "Bool": "bool", "Int32": "int32", "Int64": "int64", "UInt32": "uint32", "UInt64": "uint64",
    "Float": "float", "Double": "double", "String": "string", "Bytes": "bytes",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class JsonConverter:
    """The source of one message's JSON converters.

    Args:
        to_json: ``def to_json_X(m, o)`` source.
        from_json: ``def from_json_X(d, p, o)`` source.
        table: The statement filling ``from_json_X``'s field table (run
            after every converter is defined: messages may nest each other).
    """

    to_json: str
    from_json: str
    table: str


def _ident(full_name: str) -> str:
    return full_name.replace(".", "__")


def _cls(ref: TypeRef) -> str:
    return f"_m_{_ident(ref.package)}.{ref.python_name}"


def enum_parser(enum: EnumType) -> str:
    """Module-level source: the enum's name table and its JSON parser."""
    name = _ident(enum.ref.full_name)
    names = ", ".join(f"{n!r}: {v}" for n, v in enum.values)
    by_number: dict[int, str] = {}
    for n, v in enum.values:
        by_number.setdefault(v, n)
    numbers = ", ".join(f"{v}: {n!r}" for v, n in by_number.items())
    return (
        f"_EN_{name}: dict[int, str] = {{{numbers}}}\n"
        f"_EP_{name} = _j.enum_in({_cls(enum.ref)}, {{{names}}})\n"
    )


def _scalar_out(scalar: str, expr: str) -> str:
    # A value of the field's own type is written as it is. Any other goes through a call
    # that takes what protobuf takes there (an IntEnum member, UTF-8 bytes) and raises
    # TypeError for the rest, so a handler's mistyped response fails as it does over gRPC
    # rather than reaching the client as a document its schema refuses.
    if scalar in ("int64", "sint64", "sfixed64", "uint64", "fixed64"):
        return f"str({expr} if type({expr}) is int else _j.integer_out({expr}))"
    if scalar in ("int32", "sint32", "sfixed32", "uint32", "fixed32"):
        return f"({expr} if type({expr}) is int else _j.integer_out({expr}))"
    if scalar == "string":
        return f"({expr} if type({expr}) is str else _j.string_out({expr}))"
    if scalar == "bool":
        return f"({expr} if type({expr}) is bool else _j.boolean_out({expr}))"
    if scalar == "float":
        return f"_j.float_out({expr})"
    if scalar == "double":
        return f"_j.double_out({expr})"
    if scalar == "bytes":
        return f"_j.bytes_out({expr})"
    return expr


def _wrapped(ref: TypeRef) -> str:
    return _WRAPPED[ref.full_name.removeprefix("google.protobuf.").removesuffix("Value")]


def _value_out(f: Field, expr: str) -> str:
    ref = f.type
    if f.kind is FieldKind.SCALAR or ref is None:
        return _scalar_out(f.scalar, expr)
    if f.kind is FieldKind.ENUM:
        if ref.full_name == _NULL_VALUE:
            return "None"
        # A number without a name (an open enum's) is written as the number.
        return f"(_EN_{_ident(ref.full_name)}.get({expr}) or _j.integer_out({expr}))"
    if ref.well_known is WellKnown.TIMESTAMP:
        return f"_j.timestamp_out({expr})"
    if ref.well_known is WellKnown.DURATION:
        return f"_j.duration_out({expr})"
    if ref.well_known is WellKnown.WRAPPER:
        return _scalar_out(_wrapped(ref), expr)
    if ref.full_name in _VIA_UPB:
        return f"_j.upb_out(to_pb_{_ident(ref.full_name)}({expr}), o)"
    return f"to_json_{_ident(ref.full_name)}({expr}, o)"


def _key_out(scalar: str) -> str:
    if scalar == "string":
        return "k"
    if scalar == "bool":
        return '("true" if k else "false")'
    return "str(k)"


def _field_out(f: Field) -> list[str]:
    key = repr(f.name) if f.name == f.json_name else f"{f.name!r} if n else {f.json_name!r}"
    read = f"m.{f.python_name}"
    if f.map_key is not None:
        value = _value_out(f, "x")
        if value == "x" and f.map_key == "string":
            converted = "dict(v)"
        else:
            converted = f"{{{_key_out(f.map_key)}: {value} for k, x in v.items()}}"
        return [f"v = {read}", "if v or e:", f"    d[{key}] = {converted}"]
    if f.repeated:
        value = _value_out(f, "x")
        converted = "list(v)" if value == "x" else f"[{value} for x in v]"
        return [f"v = {read}", "if v or e:", f"    d[{key}] = {converted}"]
    if f.presence or f.kind is FieldKind.MESSAGE:
        return [f"v = {read}", "if v is not None:", f"    d[{key}] = {_value_out(f, 'v')}"]
    if f.required:
        # Always written, so documents satisfy the OpenAPI schema's `required`.
        return [f"v = {read}", f"d[{key}] = {_value_out(f, 'v')}"]
    return [f"v = {read}", "if v or e:", f"    d[{key}] = {_value_out(f, 'v')}"]


def _value_parser(f: Field) -> str:
    ref = f.type
    if f.kind is FieldKind.SCALAR or ref is None:
        return f"_j.{_PARSE[f.scalar]}"
    if f.kind is FieldKind.ENUM:
        return f"_EP_{_ident(ref.full_name)}"
    if ref.well_known is WellKnown.TIMESTAMP:
        return "_j.timestamp_in"
    if ref.well_known is WellKnown.DURATION:
        return "_j.duration_in"
    if ref.well_known is WellKnown.WRAPPER:
        return f"_j.{_PARSE[_wrapped(ref)]}"
    if ref.full_name in _VIA_UPB:
        name = _ident(ref.full_name)
        return f"_j.upb_in(_pb_{name}, from_pb_{name})"
    return f"from_json_{_ident(ref.full_name)}"


def _parser(f: Field) -> str:
    item = _value_parser(f)
    if f.map_key is not None:
        key = "_j.bool_key" if f.map_key == "bool" else f"_j.{_PARSE[f.map_key]}"
        return f"_j.map_in({key}, {item})"
    if f.repeated:
        return f"_j.repeated_in({item})"
    return item


def _one_per_oneof(message: MessageType) -> str:
    """Refuse an object setting several members of one oneof, as json_format and grpc-gateway do:
    the dataclass would take them all, a message no protobuf library can hold. The set test runs
    for every object; the call only for one that set several."""
    groups: dict[str, dict[str, str]] = {}
    for f in message.fields:
        if f.oneof is not None:
            groups.setdefault(f.oneof, {})[f.python_name] = f.json_name
    checks = []
    for oneof, members in groups.items():
        if len(members) < 2:
            continue  # a proto3 `optional` field's own oneof
        names = f"{{{', '.join(map(repr, members))}}}"
        checks.append(
            f"    if len(kw.keys() & {names}) > 1:\n        _j.one_member(kw, {members!r}, {oneof!r}, p)\n"
        )
    return "".join(checks)


def json_converter(message: MessageType) -> JsonConverter:
    """The JSON converter source for ``message`` (module-level functions)."""
    name = _ident(message.ref.full_name)
    cls = _cls(message.ref)
    if message.ref.full_name in _VIA_UPB:
        return JsonConverter(
            to_json=(
                f"def to_json_{name}(m: {cls}, o: _j.JsonOptions) -> Any:\n"
                f"    return _j.upb_out(to_pb_{name}(m), o)\n"
            ),
            from_json=(
                f"def from_json_{name}(d: Any, p: str, o: _j.JsonOptions) -> {cls}:\n"
                f"    result: {cls} = _FJU_{name}(d, p, o)\n"
                "    return result\n"
            ),
            table=f"_FJU_{name} = _j.upb_in(_pb_{name}, from_pb_{name})\n",
        )
    body = [line for f in message.fields for line in _field_out(f)]
    # One loosely typed slot for every field's value (betterproto2's types vary by field).
    setup = ["n = o.original_names", "e = o.emit_defaults", "v: Any"] if message.fields else []
    lines = "".join(f"    {line}\n" for line in [*setup, "d: dict[str, Any] = {}", *body, "return d"])
    to_json = f"def to_json_{name}(m: {cls}, o: _j.JsonOptions) -> dict[str, Any]:\n{lines}"
    from_json = (
        f"_FJ_{name}: dict[str, tuple[str, str, _j.Parse, bool, type | None]] = {{}}\n\n\n"
        f"def from_json_{name}(d: Any, p: str, o: _j.JsonOptions) -> {cls}:\n"
        "    if type(d) is not dict:\n"
        f'        raise _j.bad(p, "expected a JSON object for {message.ref.full_name}")\n'
        "    kw: dict[str, Any] = {}\n"
        f"    fields = _FJ_{name}\n"
        "    for k, v in d.items():\n"
        "        f = fields.get(k)\n"
        "        if f is None:\n"
        "            if o.ignore_unknown:\n"
        "                continue\n"
        "            raise _j.unknown(p, k)\n"
        "        if v is None and f[3]:\n"
        "            continue\n"
        "        if type(v) is f[4]:\n"
        "            kw[f[0]] = v\n"
        "        else:\n"
        '            kw[f[0]] = f[2](v, f"{p}.{f[1]}" if p else f[1], o)\n'
        f"{_one_per_oneof(message)}"
        f"    return {cls}(**kw)\n"
    )
    entries: list[str] = []
    for f in message.fields:
        # JSON null means "not set", except for a Value, where it is a value.
        skip_null = not (f.type is not None and f.type.full_name == _VALUE and not f.repeated)
        parser = _parser(f)
        entry = f"({f.python_name!r}, {f.json_name!r}, {parser}, {skip_null}, {_AS_IS.get(parser)})"
        keys = [f.json_name] if f.json_name == f.name else [f.json_name, f.name]
        entries.extend(f"    {k!r}: {entry},\n" for k in keys)
    table = f"_FJ_{name}.update({{\n{''.join(entries)}}})\n" if entries else ""
    return JsonConverter(to_json=to_json, from_json=from_json, table=table)
