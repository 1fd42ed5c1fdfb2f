"""Proto contracts as other projects write them: nested body paths, bindings microlib cannot serve,
and a generated document that states every rule the server enforces.

The contract is tests/codegen/fidelity/protos/fidelity/v1/fidelity.proto.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.codegen.conftest import codegen

PROTOS = Path(__file__).resolve().parent / "fidelity" / "protos"
SHOWN = "tests/codegen/fidelity/protos/fidelity/v1/fidelity.proto"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The contract generated once: the output folder and codegen's stderr."""
    out = tmp_path_factory.mktemp("fidelity") / "gen"
    result = codegen(PROTOS, "--out", out)
    assert result.returncode == 0, result.stderr
    return out, result.stderr


@pytest.fixture(scope="module")
def document(run: tuple[Path, str]) -> dict[str, Any]:
    """The generated openapi.json."""
    loaded: dict[str, Any] = json.loads((run[0] / "openapi.json").read_text())
    return loaded


class TestUnservableBindings:
    def test_skipped_with_file_line_and_reason(self, run: tuple[Path, str], document: dict[str, Any]) -> None:
        """A binding naming a field the message lacks is skipped with a warning naming the file, the
        line of the rule and the reason; the other bindings of the file are generated."""
        _out, stderr = run
        assert (
            f"warning: {SHOWN}:24: fidelity.v1.ShelfService.PostShelf: google.api.http DELETE "
            "/v1/shelves/{missing}: path variable 'missing' is not a singular field of "
            "fidelity.v1.PostShelfRequest: binding skipped"
        ) in stderr
        assert (
            f"warning: {SHOWN}:32: fidelity.v1.ShelfService.Broken: google.api.http POST /v1/broken: "
            "body 'shelf.nope' is not a field of fidelity.v1.GetShelfRequest: binding skipped"
        ) in stderr
        assert (
            f"warning: {SHOWN}:53: fidelity.v1.ShelfService.Upload: google.api.http POST /v1/upload: "
            "a client-streaming RPC cannot be transcoded: binding skipped"
        ) in stderr
        assert (
            f"warning: {SHOWN}:59: fidelity.v1.ShelfService.Peek: google.api.http GET /v1/peek/{{name}}: "
            "response_body 'nope' is not a field of fidelity.v1.Shelf: binding skipped"
        ) in stderr
        assert "/v1/broken" not in document["paths"]
        assert "/v1/upload" not in document["paths"]
        assert "delete" not in document["paths"]["/v1/shelves/{name}"]
        service = (run[0] / "fidelity/v1/_shelf_service.py").read_text()
        assert 'HttpRule("POST", "/v1/broken"' not in service
        assert 'HttpRule("PATCH", "/v1/shelves/{shelf.name}/details", body="shelf.details")' in service

    def test_strict_fails_and_writes_nothing(self, tmp_path: Path) -> None:
        """`--strict` makes each warning an error: exit non-zero, every reason listed, no file written."""
        result = codegen(PROTOS, "--out", tmp_path / "gen", "--strict")
        assert result.returncode != 0
        assert "microlib codegen: 4 construct(s) would be left out (strict):" in result.stderr
        assert f"{SHOWN}:32: fidelity.v1.ShelfService.Broken" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "gen").exists()

    def test_strict_from_pyproject(self, tmp_path: Path) -> None:
        """`strict = true` in [tool.microlib.codegen] does the same; a non-boolean is refused by key."""
        project = tmp_path / "pyproject.toml"
        project.write_text(f'[tool.microlib.codegen]\ncontracts = ["{PROTOS}"]\nout = "gen"\nstrict = true\n')
        result = codegen("--config", project, cwd=tmp_path)
        assert result.returncode != 0
        assert "would be left out (strict)" in result.stderr
        project.write_text(
            f'[tool.microlib.codegen]\ncontracts = ["{PROTOS}"]\nout = "gen"\nstrict = "yes"\n'
        )
        result = codegen("--config", project, cwd=tmp_path)
        assert "[tool.microlib.codegen] strict: expected true or false, got 'yes'" in result.stderr


class TestNestedBody:
    def test_the_document_takes_the_nested_fields_schema(self, document: dict[str, Any]) -> None:
        """`body: "shelf.details"`: the request body is Details; the path and the query fill the rest of
        `shelf`, and no query parameter reaches inside the body."""
        validate(document)
        op = document["paths"]["/v1/shelves/{shelf_name}/details"]["patch"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/fidelity.v1.Details-Input"}
        names = [p["name"] for p in op["parameters"]]
        assert names == ["shelf_name", "shelf.theme", "updateMask"]


class TestStatedRules:
    def test_required_strings_bytes_and_lists_cannot_be_empty(self, document: dict[str, Any]) -> None:
        """REQUIRED strings and bytes get minLength 1 (proto3 cannot tell "" from unset), REQUIRED
        repeated fields minItems 1; they and the fields whose zero value breaks a rule are `required`."""
        book = document["components"]["schemas"]["fidelity.v1.Book-Input"]
        props = book["properties"]
        assert props["title"]["minLength"] == 1
        assert props["cover"]["minLength"] == 1
        assert props["authors"]["minItems"] == 1
        assert book["required"] == [
            *("title", "cover", "authors", "isbn", "contact", "homepage", "id", "code", "pages", "format"),
            "labels",
        ]

    def test_responses_keep_the_plain_schema(self, document: dict[str, Any]) -> None:
        """Rules are checked on requests only: the request body is `<message>-Input`, the response the
        message's own schema, which only its REQUIRED fields' presence constrains (they are always
        written); a message without rules has one schema."""
        create = document["paths"]["/v1/books"]["post"]
        body = create["requestBody"]["content"]["application/json"]["schema"]
        answer = create["responses"]["200"]["content"]["application/json"]["schema"]
        assert (body, answer) == (
            {"$ref": "#/components/schemas/fidelity.v1.Book-Input"},
            {"$ref": "#/components/schemas/fidelity.v1.Book"},
        )
        book = document["components"]["schemas"]["fidelity.v1.Book"]
        assert book["properties"]["title"] == {"type": "string"}
        assert book["required"] == ["title", "cover", "authors"]

    def test_requests_may_write_what_proto3_json_reads(self, document: dict[str, Any]) -> None:
        """A request may send null for a field it need not send (proto3 JSON reads it as unset) and a
        64-bit integer as a number; responses never do, so their schema says neither."""
        schemas = document["components"]["schemas"]
        asked, answered = schemas["fidelity.v1.Details-Input"], schemas["fidelity.v1.Details"]
        optional = next(iter(set(asked["properties"]) - set(asked.get("required", []))))
        assert "null" in str(asked["properties"][optional])
        assert "null" not in str(answered["properties"][optional])
        for schema in schemas.values():
            for prop in schema.get("properties", {}).values():
                if prop.get("format") == "int64" and prop["type"] != "string":
                    assert prop["type"][:2] == ["string", "integer"], prop

    def test_query_parameters_of_required_fields_are_required(self, document: dict[str, Any]) -> None:
        """A query parameter bound to a REQUIRED field (an update mask) is marked required."""
        details = document["paths"]["/v1/shelves/{shelf_name}/details"]["patch"]["parameters"]
        assert {p["name"]: p.get("required", False) for p in details} == {
            "shelf_name": True,
            "shelf.theme": False,
            "updateMask": True,
        }
        (request_id,) = document["paths"]["/v1/books"]["post"]["parameters"]
        assert request_id == {
            "name": "requestId",
            "in": "query",
            "schema": {"type": "string", "minLength": 1},
            "required": True,
        }

    def test_buf_validate_rules_become_json_schema(self, document: dict[str, Any]) -> None:
        """Lengths, patterns, formats, ranges, in/not_in, repeated and map bounds are keywords; a rule
        with no keyword (a prefix) is written into the description."""
        props = document["components"]["schemas"]["fidelity.v1.Book-Input"]["properties"]
        assert props["authors"] | {"minItems": 1} == {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": 5,
            "uniqueItems": True,
        }
        assert props["isbn"]["pattern"] == "^[0-9]{13}$"
        assert [props[n]["format"] for n in ("contact", "homepage", "id")] == ["email", "uri", "uuid"]
        assert (props["code"]["minLength"], props["code"]["maxLength"]) == (2, 4)
        assert (props["pages"]["exclusiveMinimum"], props["pages"]["maximum"]) == (0, 5000)
        assert (props["rating"]["minimum"], props["rating"]["exclusiveMaximum"]) == (0, 5)
        assert props["format"]["enum"] == ["paper", "ebook"]
        assert props["shelfRow"]["not"] == {"enum": [13]}
        assert (props["labels"]["minProperties"], props["labels"]["maxProperties"]) == (1, 3)
        assert props["slug"]["description"] == 'Rules: string.prefix = "b-".'


def test_the_runs_are_byte_identical(run: tuple[Path, str], tmp_path: Path) -> None:
    """A second run writes the same bytes."""
    again = codegen(PROTOS, "--out", tmp_path / "gen")
    assert again.returncode == 0, again.stderr
    first = {p.relative_to(run[0]): p.read_bytes() for p in run[0].rglob("*") if p.is_file()}
    second = {
        p.relative_to(tmp_path / "gen"): p.read_bytes() for p in (tmp_path / "gen").rglob("*") if p.is_file()
    }
    assert first == second


# The example google/api/httpbody.proto gives of its own use (googleapis/googleapis, Apache-2.0),
# with the rules it shows: a raw response, and a raw request body in a field.
HTTP_BODY = """\
syntax = "proto3";
package resources.v1;
import "google/api/annotations.proto";
import "google/api/httpbody.proto";
import "google/protobuf/empty.proto";
message GetResourceRequest { string resource_name = 1; }
message UpdateResourceRequest { string resource_name = 1; google.api.HttpBody http_body = 2; }
service ResourceService {
  rpc GetResource(GetResourceRequest) returns (google.api.HttpBody) {
    option (google.api.http) = { get: "/v1/{resource_name=**}" };
  }
  rpc UpdateResource(UpdateResourceRequest) returns (google.protobuf.Empty) {
    option (google.api.http) = { put: "/v1/{resource_name=**}" body: "http_body" };
  }
}
"""


def test_bindings_carrying_an_http_body_are_generated_without_a_warning(tmp_path: Path) -> None:
    """A google.api.HttpBody travels raw (tests/http/test_transcoding_http_body.py serves it): both
    of the example's rules are generated, their bodies described as any media type."""
    contract = tmp_path / "contracts" / "resources" / "v1" / "resources.proto"
    contract.parent.mkdir(parents=True)
    contract.write_text(HTTP_BODY)
    result = codegen(tmp_path / "contracts", "--out", tmp_path / "gen", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    service = (tmp_path / "gen" / "resources" / "v1" / "_resource_service.py").read_text()
    assert "http_rules=()" not in service
    document = json.loads((tmp_path / "gen" / "openapi.json").read_text())
    path = document["paths"]["/v1/{resource_name}"]
    assert path["get"]["responses"]["200"]["content"] == {"*/*": {}}
    assert path["put"]["requestBody"]["content"] == {"*/*": {}}
