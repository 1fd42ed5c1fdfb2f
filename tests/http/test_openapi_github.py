"""GitHub's REST API description, generated and served as a user would.

specs/github/api.github.com.json is an excerpt of GitHub's own description (github/rest-api-description,
MIT licence, © GitHub; specs/github/README.md says what was cut). The whole document (13 MB, 1,100
operations) used to be refused by `microlib codegen`, and once past that generated a model mypy
refused and served responses HTTP forbids; each test here holds the part of it that did.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from microlib.core.errors import AlreadyExists, NotFound
from microlib.http import check_error_schema
from microlib.http.openapi import Reply
from microlib.service import Service
from microlib.testing import TestService
from microlib_codegen.openapi import OpenAPIError, generate, render

SPEC = Path(__file__).resolve().parent / "specs" / "github" / "api.github.com.json"
DOCUMENT: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]

# A deployment status, with the values GitHub's examples give (the properties the excerpt cut left out).
STATUS = json.loads(
    '{"url": "https://api.github.com/repos/octocat/example/deployments/42/statuses/1", "id": 1, '
    '"node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMx", "state": "success", "description": "Deployment finished '
    'successfully.", "target_url": "https://example.com/deployment/42/output", "created_at": '
    '"2012-07-20T01:19:13Z", "updated_at": "2012-07-20T01:19:13Z", "deployment_url": '
    '"https://api.github.com/repos/octocat/example/deployments/42", "repository_url": '
    '"https://api.github.com/repos/octocat/example"}'
)


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The excerpt generated into an importable package, ``gh_excerpt``."""
    root = tmp_path_factory.mktemp("github")
    generate(SPEC, out_dir=root / "gh_excerpt", gen_package="gh_excerpt")
    sys.path.insert(0, str(root))
    try:
        importlib.import_module("gh_excerpt.handlers")
        yield importlib.import_module("gh_excerpt")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] == "gh_excerpt"]:
            del sys.modules[name]


def _service(api: ModuleType) -> Service:
    """The excerpt's tags implemented: a label, a star, a merge request, a deployment status."""
    models = api.models
    starred = {("octocat", "hello-world")}

    class Issues(api.handlers.IssuesApi):
        async def issues_get_label(self, *, owner: str, repo: str, name: str) -> Any:
            raise NotFound(f"no label {name!r} in {owner}/{repo}")

        async def issues_add_labels(
            self, *, owner: str, repo: str, issue_number: int, body: Any = None
        ) -> Any:
            return Reply([], status=200)

    class Activity(api.handlers.ActivityApi):
        async def activity_check_repo_is_starred_by_authenticated_user(self, *, owner: str, repo: str) -> Any:
            if (owner, repo) not in starred:
                raise NotFound("not starred")
            # Not modified since the client's copy: a handler may hand back what it has anyway.
            return Reply({"starred": True}, status=304, headers={"ETag": '"s1"'})

        async def activity_star_repo_for_authenticated_user(self, *, owner: str, repo: str) -> None:
            starred.add((owner, repo))

    class Pulls(api.handlers.PullsApi):
        async def pulls_merge_async(
            self, *, owner: str, repo: str, pull_number: int, body: Any = None
        ) -> Any:
            raise AlreadyExists("a merge request already exists for this pull request")

    class Repos(api.handlers.ReposApi):
        async def repos_get_deployment_status(
            self, *, owner: str, repo: str, deployment_id: int, status_id: int
        ) -> Any:
            return models.DeploymentStatus.model_validate({**STATUS, "id": status_id})

    service = Service("github")
    for handlers in (Issues(), Activity(), Pulls(), Repos()):
        service.include(handlers)
    return service


def test_githubs_error_schemas_are_ones_microlib_writes_its_errors_in() -> None:
    """`validation-error` requires `documentation_url`, which microlib fills with the problem type
    (RFC 9457's link to what the error means); `pull-request-merge-async-result`, the 400 and 409
    of pulls/merge-async, requires `details`, a oneOf of objects, written in the first it can.
    Codegen refused the document at its first 422 (`documentation_url: required, and nothing
    microlib knows of an error fills it`)."""
    for name in ("validation-error", "basic-error", "pull-request-merge-async-result"):
        check_error_schema({"$ref": f"#/components/schemas/{name}"}, DOCUMENT)
    assert "models.py" in render(SPEC)


async def test_an_error_in_githubs_shape_links_the_problem_type(github: ModuleType) -> None:
    """A 404 is GitHub's `basic-error`, `documentation_url` the problem type, its string `status`
    the HTTP status as GitHub sends it (`"404"`, not the code `NOT_FOUND`); a 409 whose declared
    shape refuses every code microlib has (`status` is pending, merged, enqueued or failed) is
    problem+json, never a body the document does not allow."""
    async with TestService(_service(github)) as t:
        missing = await t.http.get("/repos/octocat/hello-world/labels/nope")
        assert (missing.status_code, missing.headers["content-type"]) == (404, "application/json")
        assert missing.json() == {
            "message": "no label 'nope' in octocat/hello-world",
            "documentation_url": "urn:microlib:problem:not-found",
            "status": "404",
        }
        jsonschema.validate(missing.json(), SCHEMAS["basic-error"])
        merging = await t.http.put("/repos/octocat/hello-world/pulls/1/merge-async", json={})
        assert (merging.status_code, merging.headers["content-type"]) == (409, "application/problem+json")
        assert merging.json()["detail"] == "a merge request already exists for this pull request"


async def test_a_request_that_fails_validation_answers_the_422_the_operation_declares(
    github: ModuleType,
) -> None:
    """issues/add-labels declares 422 (`validation-error`, "Validation failed") and no 400: a
    request it refuses, malformed JSON too, is that 422 in that schema, each violation an item of
    its `errors`. pulls/merge-async declares 400 beside its 422, and repos/get-deployment-status
    neither: both keep 400 (problem+json, where the declared 400 refuses every code microlib has).
    Each was 400 problem+json."""
    async with TestService(_service(github)) as t:
        refused = await t.http.post("/repos/octocat/hello-world/issues/x/labels", json={"labels": []})
        assert (refused.status_code, refused.headers["content-type"]) == (422, "application/json")
        jsonschema.validate(refused.json(), SCHEMAS["validation-error"])
        assert refused.json()["message"] == "invalid request to issues/add-labels"
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
            ("path.issue_number", "type"),
            ("body.labels", "too_short"),
        ]
        malformed = await t.http.post(
            "/repos/octocat/hello-world/issues/1/labels",
            content=b"{",
            headers={"content-type": "application/json"},
        )
        assert malformed.status_code == 422, malformed.text
        jsonschema.validate(malformed.json(), SCHEMAS["validation-error"])
        both = await t.http.put("/repos/octocat/hello-world/pulls/x/merge-async", json={})
        neither = await t.http.get("/repos/octocat/hello-world/deployments/x/statuses/1")
        for response in (both, neither):
            assert (response.status_code, response.headers["content-type"]) == (
                400,
                "application/problem+json",
            )
            assert response.json()["violations"][0]["rule"] == "type"


async def test_models_are_built_at_their_first_use(tmp_path: Path) -> None:
    """GitHub's whole description has 6,667 models, and its service took 9 s of CPU to import them:
    pydantic built each one's validator and serializer, and compiled each annotation written as
    text. Now importing builds none and evaluates annotations as Python does; the start builds the
    error schemas (`basic-error`), a request what it reaches (the label's path parameters), and it
    answers as before."""
    generate(SPEC, out_dir=tmp_path / "gh_fresh", gen_package="gh_fresh")
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.import_module("gh_fresh.handlers")
        models = sys.modules["gh_fresh.models"]
        built = {
            name: model.__pydantic_complete__
            for name, model in vars(models).items()
            if isinstance(model, type)
            and issubclass(model, BaseModel)
            and model.__module__ == models.__name__
            and name.isidentifier()
            and not name.startswith("_")
        }
        assert len(built) == 20
        assert not any(built.values()), [name for name, done in built.items() if done]
        assert not [a for a in models.DeploymentStatus.__annotations__.values() if isinstance(a, str)]

        service = _service(importlib.import_module("gh_fresh"))
        async with TestService(service) as t:
            missing = await t.http.get("/repos/octocat/hello-world/labels/nope")
            assert (missing.status_code, missing.json()["status"]) == (404, "404")
        assert models.IssuesGetLabelPathParams.__pydantic_complete__
        assert models.BasicError.__pydantic_complete__
        assert not models.DeploymentStatus.__pydantic_complete__
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "gh_fresh"]:
            del sys.modules[name]


def test_a_required_property_nothing_fills_is_named_where_it_is_declared(tmp_path: Path) -> None:
    """A schema many responses share (`basic-error`, through `#/components/responses/not_found`)
    is refused at its own line, with what to do, not at the first response that uses it."""
    doc = json.loads(SPEC.read_text(encoding="utf-8"))
    doc["components"]["schemas"]["basic-error"]["required"] = ["url"]
    spec = tmp_path / "github.json"
    spec.write_text(json.dumps(doc, indent=2))
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if text.strip() == '"url": {')
    with pytest.raises(OpenAPIError) as refused:
        render(spec)
    assert str(refused.value) == (
        f"{spec}:{line}: components.schemas.basic-error.properties.url: required, and nothing microlib "
        "knows of an error fills it (name what does with x-microlib-error, or do not require it): "
        "microlib could not write its errors in this schema (at paths./repos/{owner}/{repo}/labels/"
        "{name}.get.responses.404.content.application/json.schema.url)"
    )


async def test_a_default_its_format_refuses_is_left_out(github: ModuleType) -> None:
    """`deployment-status.environment_url` is `{type: string, format: uri, default: ""}`: the
    model said `AnyUrl = ''`, which mypy refuses, and answered `""`, which is no URI. The default
    is left out with a warning at its line: absent, the property is not sent."""
    warnings: list[str] = []
    render(SPEC, warnings=warnings)
    for name in ("environment_url", "log_url"):
        assert any(
            f"components.schemas.deployment-status.properties.{name}.default: default '' is not a valid "
            "uri: left out of the model" in w
            for w in warnings
        ), warnings
    async with TestService(_service(github)) as t:
        status = await t.http.get("/repos/octocat/example/deployments/42/statuses/1")
        assert status.status_code == 200, status.text
        assert "environment_url" not in status.json()
        assert "log_url" not in status.json()
        formats = jsonschema.FormatChecker()
        jsonschema.validate(status.json(), SCHEMAS["deployment-status"], format_checker=formats)


async def test_a_304_and_a_204_carry_no_content(github: ModuleType) -> None:
    """RFC 9110: a 304 has no content, whatever the handler returned with it (it was sent, and a
    client reading the connection on takes it for the next response), and neither a 204 nor a 304
    has a Content-Length (a 204 said 0)."""
    async with TestService(_service(github)) as t:
        starred = await t.http.get("/user/starred/octocat/hello-world")
        assert (starred.status_code, starred.content, starred.headers["etag"]) == (304, b"", '"s1"')
        assert "content-length" not in starred.headers
        assert "content-type" not in starred.headers
        star = await t.http.put("/user/starred/octocat/spoon-knife")
        assert (star.status_code, star.content) == (204, b"")
        assert "content-length" not in star.headers


# pulls/create's inline body, as GitHub writes it (trimmed to two of its properties).
PULLS_CREATE = {
    "openapi": "3.0.3",
    "info": {"title": "GitHub v3 REST API (excerpt)", "version": "1.1.4"},
    "paths": {
        "/repos/{owner}/{repo}/pulls": {
            "post": {
                "operationId": "pulls/create",
                "tags": ["pulls"],
                "parameters": [
                    {"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "repo", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "head": {"type": "string"},
                                    "head_repo": {"type": "string", "format": "repo.nwo"},
                                },
                                "required": ["head"],
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "Response"}},
            }
        }
    },
}


def test_a_note_on_an_inline_schema_is_named_once_where_the_document_writes_it(tmp_path: Path) -> None:
    """An inline body's model is one codegen names (`PullsCreateBody`): a note on it was reported
    a second time, at `components.schemas.PullsCreateBody`, which the document does not have, and
    at line 1 (GitHub's whole description: at the line of something else)."""
    spec = tmp_path / "pulls.json"
    spec.write_text(json.dumps(PULLS_CREATE, indent=2))
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if '"head_repo": {' in text)
    warnings: list[str] = []
    render(spec, warnings=warnings)
    assert warnings == [
        f"{spec}:{line}: paths./repos/{{owner}}/{{repo}}/pulls.post.requestBody.content.application/json."
        "schema.properties.head_repo: format 'repo.nwo' is not one the models know: checked as any string"
    ]
