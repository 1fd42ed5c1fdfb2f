"""The OpenAPI 3.1 document generated from google.api.http rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.codegen.conftest import TESTDATA, codegen


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """contracts/testdata/transcode generated once; its openapi.json parsed."""
    out = tmp_path_factory.mktemp("openapi") / "gen"
    result = codegen(TESTDATA / "transcode" / "v1" / "transcode.proto", "--out", out)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "_manifest.json").read_text())
    assert "openapi.json" in json.dumps(manifest)
    loaded: dict[str, Any] = json.loads((out / "openapi.json").read_text())
    return loaded


def op(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    """One operation of the document."""
    found: dict[str, Any] = document["paths"][path][method]
    return found


def test_valid_openapi_31(document: dict[str, Any]) -> None:
    """openapi-spec-validator accepts the document as OpenAPI 3.1."""
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_binding_is_an_operation_with_an_id(document: dict[str, Any]) -> None:
    """Each rule and additional binding is an operation; operationIds are unique; unbound RPCs are absent."""
    ids = [o["operationId"] for item in document["paths"].values() for o in item.values()]
    assert len(ids) == len(set(ids))
    assert "LibraryService_GetBook" in ids
    assert "LibraryService_GetBook_2" in ids
    assert not any("Internal" in i for i in ids)
    batch = op(document, "/v1/shelves/{shelf}/books:batchGet", "get")
    assert batch["operationId"] == "LibraryService_BatchGetBooks"


def test_path_parameters_and_descriptions(document: dict[str, Any]) -> None:
    """Variables are required path parameters; sub-templates keep their literals; comments describe."""
    get_shelf = op(document, "/v1/shelves/{shelves}", "get")
    assert get_shelf["parameters"][0] == {
        "name": "shelves",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "`shelves/{shelf}`.\n\nA segment of `name` (`shelves/*`).",
    }
    assert get_shelf["summary"] == "A wildcard-bound resource name."
    get_book = op(document, "/v1/shelves/{shelves}/books/{books}", "get")
    assert [p["name"] for p in get_book["parameters"]] == ["shelves", "books", "readMask"]
    assert op(document, "/v1/files/{path}", "get")["parameters"][0]["name"] == "path"


def test_path_fields_are_not_repeated_in_bodies(document: dict[str, Any]) -> None:
    """`body: "*"` and a body field leave out what the path binds; required follows the rest."""
    create_body = op(document, "/v1/shelves/{shelf}/books", "post")["requestBody"]
    create = create_body["content"]["application/json"]["schema"]
    assert "shelf" not in create["properties"]
    assert create["required"] == ["title"]
    update = op(document, "/v1/shelves/{book_shelf}/books/{book_id}", "patch")
    body = update["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"title", "priceCents", "format", "tags", "published"}
    assert [p["name"] for p in update["parameters"]] == ["book_shelf", "book_id", "updateMask"]


def test_query_parameters_for_the_remaining_fields(document: dict[str, Any]) -> None:
    """Unbound fields become query parameters: nested by dots, repeated exploded, WKTs as text,
    a map of values the query can carry as a deepObject (`labels[genre]=novel`, as the
    transcoder reads it); a map of messages is left to the body."""
    params = {p["name"]: p for p in op(document, "/v1/books:search", "get")["parameters"]}
    assert list(params) == [
        "filter.author", "filter.signed", "tags", "format", "publishedAfter", "minPrice", "inStock",
        "limit", "maxAge", "formats", "minRating", "labels", "formatByYear", "maxPriceByRegion",
    ]  # fmt: skip
    assert params["labels"] == {
        "name": "labels",
        "in": "query",
        "style": "deepObject",
        "explode": True,
        "schema": {"type": "object", "additionalProperties": {"type": "string"}},
        "description": "One entry per parameter, `labels[genre]=novel`, as grpc-gateway reads a map.",
    }
    assert params["formatByYear"]["schema"] == {
        "type": "object",
        "additionalProperties": {"$ref": "#/components/schemas/transcode.v1.Format"},
        "propertyNames": {"pattern": "^-?[0-9]{1,9}$"},
    }
    # A wrapper's null has no text in a query; a request's 64-bit integer keeps to digits that fit
    # in it (schemathesis sent a 19-digit value out of int64's range, which the server refused).
    assert params["maxPriceByRegion"]["schema"]["additionalProperties"] == params["limit"]["schema"]
    assert params["limit"]["schema"] == {
        "type": ["string", "integer"],
        "format": "int64",
        "pattern": "^-?[0-9]{1,18}$",
        "minimum": -(2**63),
        "maximum": 2**63 - 1,
    }
    assert params["minPrice"]["schema"] == {
        **params["limit"]["schema"],
        "type": ["string", "integer", "null"],
    }
    assert params["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert params["tags"]["explode"] is True
    assert params["publishedAfter"]["schema"] == {"type": "string", "format": "date-time"}
    assert params["limit"]["schema"]["format"] == "int64"
    assert params["format"]["schema"] == {"$ref": "#/components/schemas/transcode.v1.Format"}
    assert "parameters" not in op(document, "/v1/echo", "post") or all(
        p["in"] != "query" for p in op(document, "/v1/echo", "post")["parameters"]
    )


def test_schemas_follow_the_json_mapping(document: dict[str, Any]) -> None:
    """camelCase names, int64 as strings, enums by name or number, readOnly for OUTPUT_ONLY, WKT formats."""
    schemas = document["components"]["schemas"]
    book = schemas["transcode.v1.Book"]
    assert book["required"] == ["title"]
    assert book["properties"]["id"]["readOnly"] is True
    assert book["properties"]["priceCents"]["type"] == "string"
    names = ["FORMAT_UNSPECIFIED", "FORMAT_HARDCOVER", "FORMAT_EBOOK"]
    # Open enums: by name, or by a number (proto3 JSON reads one, and keeps an unknown one).
    assert schemas["transcode.v1.Format"]["anyOf"][0]["enum"] == names
    assert schemas["transcode.v1.Format"]["anyOf"][1]["type"] == "integer"
    everything = schemas["transcode.v1.Everything"]["properties"]
    assert everything["when"] == {"type": "string", "format": "date-time"}
    assert everything["blob"]["format"] == "byte"
    assert everything["maybeI64"] == {
        "type": ["string", "null"],
        "format": "int64",
        "pattern": "^-?[0-9]{1,19}$",
    }
    given = schemas["transcode.v1.Everything-Input"]["properties"]
    assert given["maybeI64"]["pattern"] == "^-?[0-9]{1,18}$"
    assert (given["maybeU64"]["pattern"], given["maybeU64"]["maximum"]) == ("^[0-9]{1,19}$", 2**64 - 1)
    assert everything["counts"]["additionalProperties"]["format"] == "int64"
    assert everything["any"]["anyOf"] == [{"required": ["@type"]}, {"maxProperties": 0}]


def test_responses_body_streams_and_problems(document: dict[str, Any]) -> None:
    """response_body narrows the 200 schema; streams offer NDJSON and SSE; errors are problem+json."""
    search = op(document, "/v1/books:search", "get")["responses"]
    assert search["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/transcode.v1.Book"},
    }
    assert search["default"] == {"$ref": "#/components/responses/Problem"}
    stream = op(document, "/v1/shelves/{shelf}/books:stream", "get")["responses"]["200"]["content"]
    assert set(stream) == {"application/x-ndjson", "text/event-stream"}
    problem = document["components"]["responses"]["Problem"]["content"]
    assert "application/problem+json" in problem


def test_deterministic(document: dict[str, Any], tmp_path: Path) -> None:
    """Generating again gives the same bytes."""
    result = codegen(TESTDATA / "transcode" / "v1" / "transcode.proto", "--out", tmp_path / "gen")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "gen" / "openapi.json").read_text()) == document


def test_a_request_sets_at_most_one_member_of_a_oneof(document: dict[str, Any]) -> None:
    """The transcoder refuses two members of one oneof both set (null is unset), as json_format
    does: the request schema says so, and the response schema does not need to."""
    schemas = document["components"]["schemas"]
    request = {**schemas["transcode.v1.Everything-Input"], "$defs": schemas}
    request = json.loads(json.dumps(request).replace("#/components/schemas/", "#/$defs/"))
    checker = jsonschema.Draft202012Validator(request)
    assert checker.is_valid({"choiceText": "t"})
    assert checker.is_valid({"choiceText": "t", "choiceShelf": None})
    assert not checker.is_valid({"choiceText": "t", "choiceShelf": {"name": "s"}})
    assert "not" not in schemas["transcode.v1.Everything"]


def _generated_document(tmp_path: Path, package: str, proto: str) -> dict[str, Any]:
    """The valid OpenAPI document `microlib codegen` generates from ``proto``, the one file of
    ``package.v1``."""
    path = tmp_path / "contracts" / package / "v1" / f"{package}.proto"
    path.parent.mkdir(parents=True)
    path.write_text(proto)
    result = codegen(tmp_path / "contracts", "--out", tmp_path / "gen", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads((tmp_path / "gen" / "openapi.json").read_text())
    validate(document)
    return document


def test_a_path_names_each_parameter_once(tmp_path: Path) -> None:
    """Sub-templates with the same literal before a wildcard (`{name=shelves/*}`, then
    `{other=shelves/*}`) gave two parameters `shelves` in one path, which OpenAPI refuses."""
    document = _generated_document(
        tmp_path,
        "twins",
        'syntax = "proto3";\n'
        "package twins.v1;\n"
        'import "google/api/annotations.proto";\n'
        "message Pair { string name = 1; string other = 2; }\n"
        "service Twins {\n"
        "  rpc Compare(Pair) returns (Pair) {\n"
        '    option (google.api.http) = {get: "/v1/{name=shelves/*}/vs/{other=shelves/*}"};\n'
        "  }\n"
        "}\n",
    )
    compare = op(document, "/v1/shelves/{shelves}/vs/shelves/{shelves_2}", "get")
    assert [(p["name"], p["description"]) for p in compare["parameters"]] == [
        ("shelves", "A segment of `name` (`shelves/*`)."),
        ("shelves_2", "A segment of `other` (`shelves/*`)."),
    ]


def test_deprecated_fields_and_methods_are_marked(tmp_path: Path) -> None:
    """`deprecated = true` on a field, a method or a service shows in the served document, as
    grpc-gateway's openapiv2 marks it: clients generated from it warn their users."""
    document = _generated_document(
        tmp_path,
        "aged",
        'syntax = "proto3";\n'
        "package aged.v1;\n"
        'import "google/api/annotations.proto";\n'
        "message Item {\n"
        "  string name = 1;\n"
        "  string legacy_code = 2 [deprecated = true];\n"
        "  optional int32 legacy_rank = 3 [deprecated = true];\n"
        "}\n"
        "service Items {\n"
        '  rpc Get(Item) returns (Item) { option (google.api.http) = {get: "/v1/{name=items/*}"}; }\n'
        "  rpc Put(Item) returns (Item) {\n"
        "    option deprecated = true;\n"
        '    option (google.api.http) = {put: "/v1/{name=items/*}", body: "*"};\n'
        "  }\n"
        "}\n"
        "service OldItems {\n"
        "  option deprecated = true;\n"
        '  rpc List(Item) returns (Item) { option (google.api.http) = {get: "/v1/old"}; }\n'
        "}\n",
    )
    assert "deprecated" not in op(document, "/v1/items/{items}", "get")
    assert op(document, "/v1/items/{items}", "put")["deprecated"] is True
    assert op(document, "/v1/old", "get")["deprecated"] is True
    schemas = {name: s for name, s in document["components"]["schemas"].items() if name.startswith("aged.")}
    assert schemas
    for name, schema in schemas.items():
        properties = schema["properties"]
        assert "deprecated" not in properties["name"], name
        assert properties["legacyCode"]["deprecated"] is True, name
        assert properties["legacyRank"]["deprecated"] is True, name
    put = op(document, "/v1/items/{items}", "put")["requestBody"]["content"]["application/json"]["schema"]
    body = put.get("properties") or schemas[put["$ref"].rsplit("/", 1)[1]]["properties"]
    assert body["legacyCode"]["deprecated"] is True
    query = {p["name"]: p for p in op(document, "/v1/items/{items}", "get")["parameters"]}
    assert query["legacyCode"]["deprecated"] is True
    assert query["legacyRank"]["deprecated"] is True
    assert "deprecated" not in query["items"]
