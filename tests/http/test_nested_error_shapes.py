"""Errors in nested error shapes (Google JSON style, Microsoft REST guidelines, JSON:API): every
error microlib produces on an operation declaring one validates against it.

Each style's `Error` schema (specs/nested_errors/styles.yaml) is put into the same document
(specs/nested_errors/base.yaml), generated, and served by a whole Service with its security, behind
a local OIDC issuer. Each error microlib can produce on those operations (a request that fails
validation, an unknown path, a method the path lacks, a media type the operation does not take, no
token, a token without the role, the handler's own errors and an unexpected exception) is checked
with jsonschema against the schema the document declares, as schemathesis checks a response.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from microlib.core.errors import AlreadyExists, NotFound
from microlib.http import ErrorShapeError, OpenAPIApp, check_error_schema
from microlib.http.openapi import Reply
from microlib.security.feature import install
from microlib.service import Service
from microlib.testing import TestService
from microlib_codegen.openapi import OpenAPIError, generate
from tests.security.conftest import OidcIssuer, oidc  # noqa: F401 (the fixture)

ROOT = Path(__file__).resolve().parents[2]
SPECS = Path(__file__).resolve().parent / "specs" / "nested_errors"
STYLES: dict[str, Any] = yaml.safe_load((SPECS / "styles.yaml").read_text())


def document(style: str) -> dict[str, Any]:
    """The base document with ``style``'s error schema as its `Error`."""
    doc: dict[str, Any] = yaml.safe_load((SPECS / "base.yaml").read_text())
    doc["components"]["schemas"]["Error"] = STYLES[style]
    return doc


@pytest.fixture(scope="module", params=sorted(STYLES))
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The style's document generated into an importable package; its `operations` module."""
    style = request.param
    root = tmp_path_factory.mktemp(style)
    spec = root / f"{style}.yaml"
    spec.write_text(yaml.safe_dump(document(style)))
    package = f"nested_{style}"
    generate(spec, out_dir=root / package, gen_package=package)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(f"{package}.operations")
    finally:
        sys.path.remove(str(root))


class Things:
    async def create_thing(self, *, body: Any) -> Any:
        if body.name == "taken":
            raise AlreadyExists("a thing named taken exists")
        if body.name == "boom":
            raise RuntimeError("a bug")
        if body.name == "slow":
            await asyncio.sleep(5)  # past the request timeout of the limits test
        return Reply({"id": 1, "name": body.name}, status=201)

    async def get_thing(self, *, id: int) -> Any:
        raise NotFound(f"no thing {id}")

    async def delete_thing(self, *, id: int) -> Any:
        return Reply(None, status=204)


def service(operations: ModuleType) -> Service:
    """The document's operations mounted under /api, its security enforced."""
    svc = Service("things")
    install(svc)
    app = OpenAPIApp(operations.OPERATIONS, Things(), chain=svc.chain, docs=False, prefix="/api")
    svc.http.mount("/api", app)
    return svc


def overrides(issuer: OidcIssuer) -> list[str]:
    """The service's settings: the fixture issuer."""
    setting = {"issuer": issuer.issuer, "discovery_url": issuer.discovery_url, "audiences": [issuer.audience]}
    return [f"security.issuers={json.dumps([setting])}", "security.realm=things"]


async def errors(issuer: OidcIssuer, operations: ModuleType) -> dict[str, httpx.Response]:
    """One response for each error microlib produces on the document's operations."""
    token = {"Authorization": f"Bearer {issuer.mint()}"}
    async with TestService(service(operations), overrides=overrides(issuer)) as t:
        http = t.http
        return {
            "validation": await http.post("/api/things", json={"name": ""}, headers=token),
            "path-validation": await http.get("/api/things/seven", headers=token),
            "unknown-path": await http.get("/api/nowhere", headers=token),
            "method": await http.delete("/api/things", headers=token),
            "media-type": await http.post(
                "/api/things", content=b"name=x", headers={**token, "Content-Type": "text/plain"}
            ),
            "no-token": await http.get("/api/things/1"),
            "no-role": await http.delete("/api/things/1", headers=token),
            "handler-not-found": await http.get("/api/things/1", headers=token),
            "handler-already-exists": await http.post("/api/things", json={"name": "taken"}, headers=token),
            "unexpected": await http.post("/api/things", json={"name": "boom"}, headers=token),
        }


def error_validator(operations: ModuleType) -> jsonschema.Draft202012Validator:
    """The declared `Error` schema of the document the package serves, as a validator."""
    served = json.loads(Path(operations.SPEC_PATH).read_text())
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Error", **served})


STATUS = {
    "validation": 400,
    "path-validation": 400,
    "unknown-path": 404,
    "method": 405,
    "media-type": 415,
    "no-token": 401,
    "no-role": 403,
    "handler-not-found": 404,
    "handler-already-exists": 409,
    "unexpected": 500,
}


async def test_every_error_validates_against_the_declared_schema(
    oidc: OidcIssuer,  # noqa: F811 (the fixture)
    generated: ModuleType,
) -> None:
    """Each error is `application/json` in the declared schema (checked with jsonschema against
    the served document), with its status; none falls back to problem+json."""
    validator = error_validator(generated)
    for case, response in (await errors(oidc, generated)).items():
        assert response.status_code == STATUS[case], (case, response.text)
        assert response.headers["content-type"] == "application/json", (case, response.text)
        problems = [e.message for e in validator.iter_errors(response.json())]
        assert problems == [], (case, response.json())


async def test_each_style_carries_the_error_where_its_guideline_puts_it(
    oidc: OidcIssuer,  # noqa: F811 (the fixture)
    generated: ModuleType,
) -> None:
    """The message, status or code and each violation land on the guideline's own fields."""
    found = await errors(oidc, generated)
    bad, missing = found["validation"].json(), found["handler-not-found"].json()
    style = generated.__name__.split(".")[0].removeprefix("nested_")
    if style == "google":
        assert missing == {"error": {"code": 404, "message": "no thing 1"}}
        assert bad["error"]["code"] == 400
        [item] = bad["error"]["errors"]
        assert (item["location"], item["reason"]) == ("body.name", "string_too_short")
    elif style == "microsoft":
        assert missing == {
            "error": {"code": "NOT_FOUND", "message": "no thing 1", "innererror": {"code": "NOT_FOUND"}}
        }
        [item] = bad["error"]["details"]
        assert (item["target"], item["code"]) == ("body.name", "string_too_short")
        assert item["message"].startswith("String should have at least 1 character")
    else:
        [error] = missing["errors"]
        assert {k: error[k] for k in ("status", "code", "title", "detail")} == {
            "status": "404",
            "code": "NOT_FOUND",
            "title": "Not Found",
            "detail": "no thing 1",
        }
        [item] = bad["errors"]
        assert (item["status"], item["source"], item["code"]) == (
            "400",
            {"pointer": "body.name", "parameter": "body.name"},
            "string_too_short",
        )
        assert item["meta"]["requestId"]


async def test_the_limits_answer_in_the_declared_schema_too(
    oidc: OidcIssuer,  # noqa: F811 (the fixture)
    generated: ModuleType,
) -> None:
    """The body limit's 413 (declared too large, or counted in a chunked body) and the request
    timeout's 504 on these operations take the declared shape as well."""
    validator = error_validator(generated)
    token = {"Authorization": f"Bearer {issuer_token(oidc)}"}
    limits = ["http_middleware.max_body_bytes=64", "http_middleware.request_timeout=0.5"]

    async def chunks() -> Any:
        for _ in range(4):
            yield b'{"name": "' + b"x" * 40 + b'"}'

    async with TestService(service(generated), overrides=[*overrides(oidc), *limits]) as t:
        found = {
            "declared": await t.http.post("/api/things", json={"name": "x" * 100}, headers=token),
            "chunked": await t.http.post(
                "/api/things", content=chunks(), headers={**token, "Content-Type": "application/json"}
            ),
            "timeout": await t.http.post("/api/things", json={"name": "slow"}, headers=token),
        }
    for case, response in found.items():
        assert response.status_code == (504 if case == "timeout" else 413), (case, response.text)
        assert response.headers["content-type"] == "application/json", (case, response.text)
        problems = [e.message for e in validator.iter_errors(response.json())]
        assert problems == [], (case, response.json())


def issuer_token(issuer: OidcIssuer) -> str:
    """A token the fixture issuer signed."""
    return issuer.mint()


UNFILLABLE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "details"],
            "properties": {
                "code": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["severity"],
                        "properties": {"severity": {"type": "string"}},
                    },
                },
            },
        }
    },
}


def test_a_required_property_nothing_fills_is_refused_with_its_schema_path(tmp_path: Path) -> None:
    """At any depth, a required property microlib cannot fill is refused by codegen (and by
    the app, were the model built by hand), naming the response and the schema path."""
    with pytest.raises(ErrorShapeError, match=r"^error\.details\[\]\.severity: required, and nothing"):
        check_error_schema(UNFILLABLE, UNFILLABLE)
    doc = document("google")
    doc["components"]["schemas"]["Error"] = UNFILLABLE
    spec = tmp_path / "unfillable.yaml"
    spec.write_text(yaml.safe_dump(doc))
    with pytest.raises(OpenAPIError) as raised:
        generate(spec, out_dir=tmp_path / "gen", gen_package="gen")
    # Named where the shared `Error` declares it, then at the response that uses it.
    assert (
        ":19: components.schemas.Error.properties.error.properties.details.items.properties.severity: "
        "required, and nothing microlib knows of an error fills it (name what does with "
        "x-microlib-error, or do not require it): microlib could not write its errors in this schema "
        "(at paths./things.post.responses.default.content.application/json.schema.error.details[].severity)"
        in str(raised.value)
    )
    assert "\n" not in str(raised.value)


def test_an_extension_naming_nothing_microlib_has_is_refused() -> None:
    """`x-microlib-error` takes one of the names listed in docs/http.md."""
    schema = {"type": "object", "properties": {"id": {"type": "string", "x-microlib-error": "uuid"}}}
    with pytest.raises(
        ErrorShapeError, match=r"^id: x-microlib-error: 'uuid' is none of code, correlation-id"
    ):
        check_error_schema(schema, schema)


SERVICE_MODULE = """
from pydantic import BaseModel

from microlib.http import OpenAPIApp
from microlib.http.openapi import Operation, Response
from microlib.service import Service


class Audited(BaseModel):
    message: str
    auditId: str


class Handlers:
    async def get_thing(self) -> None:
        return None


service = Service("audited")
audited = (Response("default", "application/json", Audited),)
get = Operation("getThing", "GET", "/thing", "things", "get_thing", responses=audited)
app = OpenAPIApp([get], Handlers())
"""


def test_microlib_run_refuses_the_app_in_one_line(tmp_path: Path) -> None:
    """An app built on such a schema stops `microlib run` with one line: where the app is built,
    the operation, the response and the schema path; no traceback."""
    (tmp_path / "audited.py").write_text(SERVICE_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    result = subprocess.run(
        [sys.executable, "-m", "microlib.cli", "run", "audited:service"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "microlib run: audited.py:22: GET /thing: responses.default.content.application/json.schema.auditId: "
        "required, and nothing microlib knows of an error fills it (name what does with x-microlib-error, "
        "or do not require it)"
    ]
