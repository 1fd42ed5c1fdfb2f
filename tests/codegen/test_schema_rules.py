"""The JSON Schema keywords a field's REQUIRED and buf.validate rules become, rule by rule."""

from __future__ import annotations

import json
from typing import Any

from microlib_codegen._schema_rules import constrain, is_required, must_send
from microlib_codegen.model import Field, FieldKind, TypeRef

STRING: dict[str, Any] = {"type": "string"}
_ENUM = TypeRef("t.v1.Color", "t.v1", "Color", FieldKind.ENUM)


def field(scalar: str = "string", rules: dict[str, Any] | None = None, **kw: Any) -> Field:
    """A field named `f` with these rules."""
    return Field(name="f", python_name="f", number=1, kind=kw.pop("kind", FieldKind.SCALAR), scalar=scalar,
                 rules=json.dumps(rules) if rules else "", **kw)  # fmt: skip


def test_string_keywords() -> None:
    """len sets both bounds, const and formats map to keywords; what has none is described."""
    f = field(rules={"string": {"len": 3, "const": "abc", "hostname": True, "suffix": "c"}})
    assert constrain(STRING, f) == {
        "type": "string",
        "minLength": 3,
        "maxLength": 3,
        "const": "abc",
        "format": "hostname",
        "description": 'Rules: string.suffix = "c".',
    }


def test_ignore_always_drops_every_rule() -> None:
    """`ignore: IGNORE_ALWAYS` turns the rules off, required included."""
    f = field(rules={"ignore": "IGNORE_ALWAYS", "required": True, "string": {"min_len": 2}})
    assert constrain(STRING, f) == STRING
    assert not is_required(f)


def test_numbers_enums_and_expressions() -> None:
    """Numeric in/const are keywords; enum rules and bare CEL expressions are described."""
    number = field("int32", {"int32": {"in": [1, 2]}})
    assert constrain({"type": "integer"}, number) == {"type": "integer", "enum": [1, 2]}
    assert must_send(number, constrain({"type": "integer"}, number))
    color = field(
        "", {"enum": {"defined_only": True}, "cel_expression": ["this != 1"]}, kind=FieldKind.ENUM, type=_ENUM
    )
    assert constrain({"$ref": "#/c"}, color)["description"] == (
        'Rules: enum.defined_only = true; cel_expression: ["this != 1"].'
    )
    assert not must_send(color, {"$ref": "#/c"})


def test_required_containers_and_presence() -> None:
    """A REQUIRED map needs a pair; a REQUIRED field with presence may hold its zero value."""
    labels = field(required=True, map_key="string")
    assert constrain({"type": "object", "additionalProperties": STRING}, labels)["minProperties"] == 1
    optional = field(required=True, presence=True)
    assert constrain(STRING, optional) == STRING
    assert must_send(optional, STRING)
