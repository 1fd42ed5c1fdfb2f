"""Generated models type ``email`` and ``idn-email`` as ``str`` and keep the format in their JSON
Schema, where the format plan reads it: no ``EmailStr``, so no email-validator at start."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from microlib.core._formats import format_plan
from microlib_codegen._pydantic_models import schema_models


def _schemas(fmt: str) -> dict[str, Any]:
    email = {"type": "string", "format": fmt}
    return {
        "Contact": {
            "type": "object",
            "required": ["main"],
            "properties": {
                "main": email,
                "others": {"type": "array", "items": email},
                "byName": {"type": "object", "additionalProperties": email},
                "maybe": {"type": ["string", "null"], "format": fmt, "maxLength": 40},
            },
        },
        "Address": email,
    }


def _load(text: str, tmp_path: Path, name: str) -> Any:
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the postponed annotations through it
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.mark.parametrize("fmt", ["email", "idn-email"])
def test_email_fields_are_str_with_their_format(fmt: str, tmp_path: Path) -> None:
    """Every place an email sits (a field, list items, map values, a nullable field with a
    length, a root model) is a ``str`` whose JSON Schema names the format as declared."""
    text, notes = schema_models(_schemas(fmt), title="t", version="1", source="emails.yaml")
    assert notes == []
    assert "EmailStr" not in text
    module = _load(text, tmp_path, f"emails_{fmt.replace('-', '_')}")
    schema = module.Contact.model_json_schema()["properties"]
    assert schema["main"]["format"] == fmt
    assert schema["others"]["items"]["format"] == fmt
    assert schema["byName"]["additionalProperties"]["format"] == fmt
    assert schema["maybe"]["anyOf"][0] == {"type": "string", "format": fmt, "maxLength": 40}
    assert module.Address.model_json_schema()["format"] == fmt
    plan = format_plan(module.Contact)
    assert plan is not None
    data = {"main": "Bob <bob@b.example>", "others": ["a@b.test", "a@@b"], "maybe": None}
    assert [v.field for v in plan.violations(data, "body")] == ["body.main", "body.others[1]"]


def test_a_document_with_idn_email_types_every_email_as_one(tmp_path: Path) -> None:
    """The generator types both formats alike, so a document that declares ``idn-email``
    makes each of its emails the wider format (UTF-8 allowed), as email-validator did."""
    schemas = {
        "Both": {
            "type": "object",
            "properties": {
                "plain": {"type": "string", "format": "email"},
                "wide": {"type": "string", "format": "idn-email"},
            },
        }
    }
    text, _ = schema_models(schemas, title="t", version="1", source="both.yaml")
    properties = _load(text, tmp_path, "emails_both").Both.model_json_schema()["properties"]
    assert [properties[n]["format"] for n in ("plain", "wide")] == ["idn-email", "idn-email"]
