"""What the server enforces on a field, as JSON Schema: REQUIRED and ``buf.validate``.

``google.api.field_behavior = REQUIRED`` on a proto3 field without presence
means a non-empty value (proto3 cannot tell ``""`` from unset, and microlib
rejects both): ``minLength: 1`` for strings and bytes, ``minItems: 1`` for
repeated fields, ``minProperties: 1`` for maps. ``buf.validate`` rules become
the matching keywords (lengths, patterns, formats, ranges, ``in``/``not_in``,
repeated and map bounds); a rule JSON Schema cannot say is written into the
field's description, so a reader still learns it. A proto3 field without
presence that is left out has its zero value, which the rules also check: a
field whose zero value breaks them must be sent, so it is ``required``.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from microlib_codegen.model import Field, FieldKind

__all__ = ["constrain", "is_required", "must_send"]

_FORMATS = {
    "email": "email",
    "uri": "uri",
    "uri_ref": "uri-reference",
    "uuid": "uuid",
    "hostname": "hostname",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
}
_STRING_WORDS = {"min_len": "minLength", "max_len": "maxLength", "pattern": "pattern"}
_RANGE_WORDS = {"gt": "exclusiveMinimum", "gte": "minimum", "lt": "exclusiveMaximum", "lte": "maximum"}
# JSON numbers; 64-bit integers are JSON strings, so their ranges can only be described.
_NUMBERS = frozenset(
    {"int32", "sint32", "sfixed32", "uint32", "fixed32", "float", "double"}
)  # fmt: skip
_IGNORE_ZERO = frozenset({"IGNORE_IF_ZERO_VALUE", "IGNORE_IF_UNPOPULATED", "IGNORE_IF_DEFAULT_VALUE"})


def _rules(f: Field) -> dict[str, Any]:
    rules: dict[str, Any] = json.loads(f.rules) if f.rules else {}
    return {} if rules.get("ignore") == "IGNORE_ALWAYS" else rules


def is_required(f: Field) -> bool:
    """REQUIRED by ``field_behavior`` or by ``buf.validate``'s ``required``."""
    return f.required or bool(_rules(f).get("required"))


def must_send(f: Field, schema: dict[str, Any]) -> bool:
    """Whether a request without ``f`` is refused: REQUIRED, or its zero value
    (what an absent field without presence holds) breaks its ``schema``."""
    if is_required(f):
        return True
    if f.presence or (f.kind is not FieldKind.SCALAR and not f.repeated and f.map_key is None):
        return False
    if f.map_key is not None:
        zero: Any = {}
    elif f.repeated:
        zero = []
    else:
        zero = _ZEROS.get(f.scalar, 0)
    # Every format the rules map to refuses "" (uri-reference, which accepts it, aside).
    if zero == "" and schema.get("format") in ("email", "uri", "uuid", "hostname", "ipv4", "ipv6"):
        return True
    return not jsonschema.Draft202012Validator(schema).is_valid(zero)


_ZEROS: dict[str, Any] = {
    "string": "",
    "bytes": "",
    "bool": False,
    **dict.fromkeys(("int64", "sint64", "sfixed64", "uint64", "fixed64"), "0"),
}


def constrain(schema: dict[str, Any], f: Field) -> dict[str, Any]:
    """``schema`` (the field's JSON Schema by type) with every rule the server enforces on ``f``."""
    rules = _rules(f)
    notes: list[str] = []
    out = dict(schema)
    if f.map_key is not None:
        _bounds(out, rules.get("map", {}), {"min_pairs": "minProperties", "max_pairs": "maxProperties"})
        key_rules = rules.get("map", {}).get("keys", {})
        if key_rules:
            out["propertyNames"] = _scalar(dict(out.get("propertyNames", {})), key_rules, "string", notes)
        value_rules = rules.get("map", {}).get("values", {})
        if value_rules:
            out["additionalProperties"] = _scalar(
                dict(out["additionalProperties"]), value_rules, _kind(f), notes
            )
        if is_required(f):
            out["minProperties"] = max(out.get("minProperties", 0), 1)
    elif f.repeated:
        repeated = rules.get("repeated", {})
        _bounds(out, repeated, {"min_items": "minItems", "max_items": "maxItems"})
        if repeated.get("unique"):
            out["uniqueItems"] = True
        if repeated.get("items"):
            out["items"] = _scalar(dict(out["items"]), repeated["items"], _kind(f), notes)
        if is_required(f):
            out["minItems"] = max(out.get("minItems", 0), 1)
    else:
        out = _scalar(out, rules, _kind(f), notes)
        if is_required(f) and not f.presence and _kind(f) in ("string", "bytes"):
            out["minLength"] = max(out.get("minLength", 0), 1)
        if rules.get("ignore") in _IGNORE_ZERO and not f.presence and _kind(f) in ("string", *_NUMBERS):
            # The rules apply to a value that is set: the zero value passes.
            out = {"anyOf": [{"const": "" if _kind(f) == "string" else 0}, out]}
    for rule in rules.get("cel", []):
        notes.append(f"{rule.get('id', 'cel')}: {rule.get('message') or rule.get('expression', '')}")
    if notes:
        out["description"] = "Rules: " + "; ".join(notes) + "."
    return out


def _kind(f: Field) -> str:
    if f.kind is FieldKind.ENUM:
        return "enum"
    if f.kind is FieldKind.MESSAGE:
        return f.type.full_name if f.type is not None else "message"
    return f.scalar


def _bounds(out: dict[str, Any], rules: dict[str, Any], words: dict[str, str]) -> None:
    for rule, word in words.items():
        if rule in rules:
            out[word] = int(rules[rule])


def _scalar(out: dict[str, Any], field_rules: dict[str, Any], kind: str, notes: list[str]) -> dict[str, Any]:
    """Apply the rules of one value of type ``kind`` (``{"string": {...}}``, ``{"int32": {...}}``...)."""
    for family, rules in field_rules.items():
        if family in ("required", "ignore", "cel"):
            continue
        if not isinstance(rules, dict):
            notes.append(f"{family}: {json.dumps(rules)}")
        elif family == "string":
            _string(out, rules, notes)
        elif family in _NUMBERS or family == "bool":
            _number(out, rules, notes, family)
        else:
            # bytes (base64 on the wire), 64-bit integers (strings), enums (by name),
            # durations, timestamps...: said in words.
            notes.extend(f"{family}.{rule} = {json.dumps(value)}" for rule, value in sorted(rules.items()))
    return out


def _string(out: dict[str, Any], rules: dict[str, Any], notes: list[str]) -> None:
    for rule, value in sorted(rules.items()):
        if rule in ("min_len", "max_len", "pattern"):
            out[_STRING_WORDS[rule]] = int(value) if rule.endswith("_len") else value
        elif rule == "len":
            out["minLength"] = out["maxLength"] = int(value)
        elif rule in _FORMATS and value is True:
            out["format"] = _FORMATS[rule]
        elif not _values(out, rule, value):
            notes.append(f"string.{rule} = {json.dumps(value)}")


def _number(out: dict[str, Any], rules: dict[str, Any], notes: list[str], family: str) -> None:
    low, high = rules.get("gt", rules.get("gte")), rules.get("lt", rules.get("lte"))
    if low is not None and high is not None and low > high:
        # An exclusive range (outside [high, low]) has no JSON Schema keyword.
        notes.append(f"{family}: outside {high}..{low}")
        rules = {k: v for k, v in rules.items() if k not in _RANGE_WORDS}
    for rule, value in sorted(rules.items()):
        if rule in _RANGE_WORDS:
            out[_RANGE_WORDS[rule]] = value
        elif not _values(out, rule, value):
            notes.append(f"{family}.{rule} = {json.dumps(value)}")


def _values(out: dict[str, Any], rule: str, value: Any) -> bool:
    """``const``, ``in`` and ``not_in``, the same for every scalar; False for another rule."""
    if rule == "const":
        out["const"] = value
    elif rule == "in":
        out["enum"] = list(value)
    elif rule == "not_in":
        out["not"] = {"enum": list(value)}
    else:
        return False
    return True
