"""The request view of a document's schemas: required readOnly properties are not required in
request bodies, required writeOnly ones not in responses; through refs, unions and recursion."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from microlib_codegen._visibility import split_views
from microlib_codegen.openapi import render

REF = "#/components/schemas/"


def _document() -> dict[str, Any]:
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": REF + "Pet"}}}}
    reply = {"description": "ok", "content": {"application/json": {"schema": {"$ref": REF + "Pet"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pets", "version": "1"},
        "paths": {
            "/pets": {"post": {"operationId": "addPet", "requestBody": body, "responses": {"200": reply}}}
        },
        "components": {
            "schemas": {
                "Pet": {
                    "oneOf": [{"$ref": REF + "Dog"}, {"$ref": REF + "Cat"}],
                    "discriminator": {
                        "propertyName": "kind",
                        "mapping": {"dog": REF + "Dog", "cat": REF + "Cat"},
                    },
                },
                "Base": {
                    "type": "object",
                    "required": ["id", "kind"],
                    "properties": {"id": {"type": "integer", "readOnly": True}, "kind": {"type": "string"}},
                },
                "Dog": {
                    "allOf": [
                        {"$ref": REF + "Base"},
                        {
                            "type": "object",
                            "required": ["kind", "secret"],
                            "properties": {
                                "kind": {"const": "dog"},
                                "secret": {"type": "string", "writeOnly": True},
                                "pups": {"type": "array", "items": {"$ref": REF + "Dog"}},
                            },
                        },
                    ]
                },
                "Cat": {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {"kind": {"const": "cat"}},
                },
            }
        },
    }


def test_request_bodies_refer_to_input_twins_through_unions_and_recursion() -> None:
    """Pet, Dog and Base differ (Cat does not); the body and the discriminator's mapping name the
    twins; the twins keep writeOnly required, the originals keep readOnly required."""
    doc = _document()
    split_views(doc)
    schemas = doc["components"]["schemas"]
    assert sorted(schemas) == ["Base", "Base-Input", "Cat", "Dog", "Dog-Input", "Pet", "Pet-Input"]
    body = doc["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": REF + "Pet-Input"}
    assert schemas["Pet-Input"]["discriminator"]["mapping"] == {"dog": REF + "Dog-Input", "cat": REF + "Cat"}
    assert schemas["Base-Input"]["required"] == ["kind"]
    assert schemas["Base"]["required"] == ["id", "kind"]
    assert schemas["Dog-Input"]["allOf"][1]["required"] == ["kind", "secret"]
    assert schemas["Dog-Input"]["allOf"][1]["properties"]["pups"]["items"] == {"$ref": REF + "Dog-Input"}
    assert schemas["Dog"]["allOf"][1]["required"] == ["kind"]


def test_the_generated_models_accept_a_request_without_ids(tmp_path: Path) -> None:
    """Generated and run: the request model takes a dog without ids (its pups too) and needs the
    secret; the response model needs the id and not the secret; the served document is unchanged."""
    spec = tmp_path / "pets.json"
    spec.write_text(json.dumps(_document()))
    files = render(spec)
    assert "Input" not in files["openapi.json"]
    (tmp_path / "pets_models.py").write_text(files["models.py"])
    found = importlib.util.spec_from_file_location("pets_models", tmp_path / "pets_models.py")
    assert found is not None
    assert found.loader is not None
    module = importlib.util.module_from_spec(found)
    sys.modules["pets_models"] = module
    try:
        found.loader.exec_module(module)
    finally:
        del sys.modules["pets_models"]
    request, response = module.PetInput, module.Pet
    request.model_validate({"kind": "dog", "secret": "s", "pups": [{"kind": "dog", "secret": "t"}]})
    assert not _valid(request, {"kind": "dog"})
    response.model_validate({"id": 1, "kind": "dog"})
    assert not _valid(response, {"kind": "dog", "secret": "s"})


def _valid(model: type[BaseModel], data: dict[str, Any]) -> bool:
    try:
        model.model_validate(data)
    except ValueError:
        return False
    return True
