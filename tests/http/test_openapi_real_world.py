"""The OpenAPI Initiative's published examples, generated, implemented and served end to end.

Each document is the shape of one example of OAI/OpenAPI-Specification's `examples/` (v3.0
petstore, petstore-expanded, api-with-examples, callback-example, link-example, uspto; v3.1
webhook-example, non-oauth-scopes) or of learn.openapis.org's tictactoe, cut to what the test
needs; each test sends valid requests and one invalid request through a started service and
checks what microlib answered, where it used to refuse the document, crash or answer wrongly.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from microlib import Service
from microlib.core.context import Principal
from microlib.core.lifecycle import StartupError
from microlib.security import install
from microlib.testing import TestService
from microlib_codegen.openapi import OpenAPIError, generate, render
from tests.codegen.conftest import codegen
from tests.security.conftest import ec_key

# petstore.yaml (3.0): an error response `default: Error {code, message}`, a 201 without content.
PETSTORE = """\
openapi: "3.0.0"
info: {version: 1.0.0, title: Swagger Petstore}
servers:
  - url: http://petstore.swagger.io/v1
paths:
  /pets:
    get:
      operationId: listPets
      tags: [pets]
      parameters:
        - {name: limit, in: query, required: false, schema: {type: integer, maximum: 100, format: int32}}
      responses:
        '200':
          description: A paged array of pets
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pets"}
        default:
          description: unexpected error
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
    post:
      operationId: createPets
      tags: [pets]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Pet'}
      responses:
        '201': {description: Null response}
        default:
          description: unexpected error
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {type: integer, format: int64}
        name: {type: string}
        tag: {type: string}
    Pets:
      type: array
      maxItems: 100
      items: {$ref: "#/components/schemas/Pet"}
    Error:
      type: object
      required: [code, message]
      properties:
        code: {type: integer, format: int32}
        message: {type: string}
"""

# link-example.yaml, api-with-examples.yaml, callback-example.yaml, webhook-example.yaml: no
# `servers`, so served at `/`; links, callbacks and webhooks beside the paths.
LINKS = """\
openapi: 3.0.0
info: {title: Link Example, version: 1.0.0}
paths:
  /2.0/repositories/{username}/{slug}/pullrequests:
    get:
      operationId: getPullRequestsByRepository
      parameters:
        - {name: username, in: path, required: true, schema: {type: string}}
        - {name: slug, in: path, required: true, schema: {type: string}}
        - {name: state, in: query, schema: {type: string, enum: [open, merged, declined]}}
      responses:
        '200':
          description: an array of pull request objects
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/pullrequest'}}
          links:
            merge: {$ref: '#/components/links/PullRequestMerge'}
  /2.0/repositories/{username}/{slug}/pullrequests/{pid}/merge:
    post:
      operationId: mergePullRequest
      parameters:
        - {name: username, in: path, required: true, schema: {type: string}}
        - {name: slug, in: path, required: true, schema: {type: string}}
        - {name: pid, in: path, required: true, schema: {type: string}}
      responses:
        '204': {description: the PR was successfully merged}
      callbacks:
        onMerged:
          '{$request.query.callbackUrl}/merged':
            post:
              requestBody:
                content:
                  application/json:
                    schema: {type: object, properties: {pid: {type: string}}}
              responses:
                '202': {description: received}
components:
  links:
    PullRequestMerge:
      operationId: mergePullRequest
      parameters: {pid: $response.body#/id}
  schemas:
    pullrequest:
      type: object
      properties:
        id: {type: integer}
        title: {type: string}
"""

# non-oauth-scopes.yaml (3.1): no operationId, no responses, role names under a bearer scheme.
SCOPES = """\
openapi: 3.1.0
info: {title: Non-oAuth Scopes example, version: 1.0.0}
paths:
  /users:
    get:
      security:
        - bearerAuth: ['read:users', 'public']
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer, bearerFormat: jwt}
"""

# tictactoe.yaml (3.1): path parameters $ref'd to a constrained integer, string enums as the
# request body and as a response, an apiKey scheme among the alternatives.
TICTACTOE = """\
openapi: 3.1.0
info: {title: Tic Tac Toe, version: 1.0.0}
servers: [{url: /ttt}]
paths:
  /board/{row}/{column}:
    parameters:
      - $ref: "#/components/parameters/rowParam"
      - $ref: "#/components/parameters/columnParam"
    get:
      operationId: get-square
      responses:
        "200":
          description: "OK"
          content:
            application/json:
              schema: {$ref: "#/components/schemas/mark"}
      security:
        - defaultApiKey: []
    put:
      operationId: put-square
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/mark"}
      responses:
        "200":
          description: "OK"
          content:
            application/json:
              schema: {$ref: "#/components/schemas/mark"}
        "202":
          description: Mark operation has not completed. Use callback to check for progress
          headers:
            Location: {schema: {type: string}}
      security:
        - defaultApiKey: []
components:
  parameters:
    rowParam: {name: row, in: path, required: true, schema: {$ref: "#/components/schemas/coordinate"}}
    columnParam: {name: column, in: path, required: true, schema: {$ref: "#/components/schemas/coordinate"}}
  schemas:
    coordinate: {type: integer, minimum: 1, maximum: 3}
    mark: {type: string, enum: [".", "X", "O"]}
  securitySchemes:
    defaultApiKey: {type: apiKey, name: api-key, in: header}
"""

# Two shapes published documents use (GitHub's and Stripe's descriptions among them): a JSON body
# or response with no schema (any JSON value, as `schema: {}`), and a parameter whose component is
# a oneOf of scalars (an id sent as a number or a slug).
UNTYPED = """\
openapi: 3.0.3
info: {title: Untyped, version: 1.0.0}
paths:
  /hooks:
    post:
      operationId: relay
      requestBody:
        required: true
        content:
          application/json: {}
      responses:
        '200':
          description: what was relayed
          content:
            application/json: {}
  /settings:
    put:
      operationId: putSettings
      requestBody:
        content:
          application/json: {schema: {}}
      responses:
        '200':
          description: the settings
          content:
            application/json: {schema: {description: any JSON value}}
  /repos/{repo}:
    get:
      operationId: getRepo
      parameters:
        - {name: repo, in: path, required: true, schema: {$ref: '#/components/schemas/repoId'}}
        - {name: since, in: query, schema: {$ref: '#/components/schemas/repoId'}}
      responses:
        '200':
          description: the repository
          content:
            application/json: {schema: {$ref: '#/components/schemas/repo'}}
components:
  schemas:
    repoId:
      oneOf: [{type: integer, minimum: 1}, {type: string, pattern: '^[a-z][a-z-]*$'}]
    repo:
      type: object
      properties:
        id: {type: string}
"""

# A media type with its charset, as documents written from swagger-jsdoc comments, Spring
# (`produces = "application/json;charset=UTF-8"`) and ASP.NET often declare it, for the body and the
# response.
CHARSET = """\
openapi: "3.0.1"
info: {version: 1.0.0, title: Notes}
paths:
  /notes:
    post:
      operationId: addNote
      tags: [notes]
      requestBody:
        required: true
        content:
          application/json; charset=utf-8:
            schema: {$ref: "#/components/schemas/Note"}
      responses:
        '201':
          description: The note.
          content:
            application/json;charset=UTF-8:
              schema: {$ref: "#/components/schemas/Note"}
components:
  schemas:
    Note:
      type: object
      required: [text]
      properties:
        text: {type: string, minLength: 1}
"""

# What springdoc-openapi writes for a Spring controller that declares no `produces`, its
# @ControllerAdvice error response included: every response under `*/*` (springdoc/springdoc-openapi
# issues #442 and #659 show it).
SPRINGDOC = """\
openapi: 3.0.1
info: {title: OpenAPI definition, version: v0}
servers:
  - {url: 'http://localhost:8080', description: Generated server url}
paths:
  /bla:
    post:
      tags: [deployments]
      operationId: deployment
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/DeploymentPostRequest'}
        required: true
      responses:
        '400':
          description: Bad Request
          content:
            '*/*':
              schema: {$ref: '#/components/schemas/ErrorResponse'}
        '202':
          description: Accepted
          content:
            '*/*':
              schema: {$ref: '#/components/schemas/DeploymentPostResponse'}
components:
  schemas:
    ErrorResponse:
      type: object
      properties:
        status: {type: integer, format: int32}
        message: {type: string}
    DeploymentPostRequest:
      required: [name]
      type: object
      properties:
        name: {type: string}
    DeploymentPostResponse:
      type: object
      properties:
        id: {type: integer, format: int64}
        name: {type: string}
"""

DOCUMENTS = {
    "petstore": PETSTORE,
    "springdoc": SPRINGDOC,
    "charset": CHARSET,
    "links": LINKS,
    "scopes": SCOPES,
    "tictactoe": TICTACTOE,
    "untyped": UNTYPED,
}


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    """Each document generated once into its own importable package, ``oai_<name>``."""
    root = tmp_path_factory.mktemp("oai")
    for name, text in DOCUMENTS.items():
        spec = root / f"{name}.yaml"
        spec.write_text(text)
        generate(spec, out_dir=root / f"oai_{name}", gen_package=f"oai_{name}")
    sys.path.insert(0, str(root))
    try:
        for name in DOCUMENTS:
            # The package's modules, as a handler module imports them.
            for module in ("models", "handlers", "senders"):
                if (root / f"oai_{name}" / f"{module}.py").exists():
                    importlib.import_module(f"oai_{name}.{module}")
        yield {name: sys.modules[f"oai_{name}"] for name in DOCUMENTS}
    finally:
        sys.path.remove(str(root))
        for module in [m for m in sys.modules if m.startswith("oai_")]:
            del sys.modules[module]


async def test_petstore_refusals_in_its_error_shape_name_the_field(gen: dict[str, ModuleType]) -> None:
    """`Error {code, message}` has no array for violations: the message names each field, where it
    used to say only "invalid request to listPets"; a 201 without content is returned as None
    (the handler's annotation used to say bytes)."""
    api = gen["petstore"]

    class Pets(api.handlers.PetsApi):
        async def list_pets(self, *, limit: int | None = None) -> Any:
            return api.models.Pets([api.models.Pet(id=1, name="Rex")])

        async def create_pets(self, *, body: Any) -> None:
            return None

    assert inspect.signature(api.handlers.PetsApi.create_pets).return_annotation == "Reply | None"
    service = Service("petstore")
    service.include(Pets())
    async with TestService(service) as t:
        assert (await t.http.get("/v1/pets", params={"limit": 3})).json() == [{"id": 1, "name": "Rex"}]
        created = await t.http.post("/v1/pets", json={"id": 2, "name": "Tom"})
        assert (created.status_code, created.content) == (201, b"")
        refused = await t.http.get("/v1/pets", params={"limit": 101})
        assert (refused.status_code, refused.headers["content-type"]) == (400, "application/json")
        assert refused.json() == {
            "code": 400,
            "message": "invalid request to listPets: query.limit: Input should be less than or equal "
            "to 100 (received 101)",
        }
        missing = await t.http.post("/v1/pets", json={"id": 2})
        assert missing.json()["message"] == "invalid request to createPets: body.name: Field required"


async def test_a_body_declared_with_its_charset_is_read_whatever_parameters_the_request_gives(
    gen: dict[str, ModuleType],
) -> None:
    """`application/json; charset=utf-8` was compared with the request's bare media type: every
    body was a 415, even one sent with exactly the declared Content-Type."""
    api = gen["charset"]

    class Notes(api.handlers.NotesApi):
        async def add_note(self, *, body: Any) -> Any:
            return body

    service = Service("notes")
    service.include(Notes())
    async with TestService(service) as t:
        for sent in ("application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"):
            added = await t.http.post("/notes", content=b'{"text": "hi"}', headers={"content-type": sent})
            assert (added.status_code, added.json()) == (201, {"text": "hi"}), sent
            assert added.headers["content-type"] == "application/json;charset=UTF-8"
        refused = await t.http.post("/notes", json={"text": ""})
        assert [v["field"] for v in refused.json()["violations"]] == ["body.text"]
        assert (
            await t.http.post("/notes", content=b"hi", headers={"content-type": "text/plain"})
        ).status_code == 415


async def test_a_response_under_any_media_type_is_its_schemas_json(gen: dict[str, ModuleType]) -> None:
    """springdoc's `*/*` responses were typed bytes, so a handler encoded JSON itself, unchecked, and
    errors ignored the declared shape: a schema under a range is the JSON sent, as application/json."""
    api = gen["springdoc"]
    assert (
        inspect.signature(api.handlers.DeploymentsApi.deployment).return_annotation
        == "models.DeploymentPostResponse | Reply"
    )

    class Deployments(api.handlers.DeploymentsApi):
        async def deployment(self, *, body: Any) -> Any:
            return api.models.DeploymentPostResponse(id=7, name=body.name)

    service = Service("deployments")
    service.include(Deployments())
    async with TestService(service) as t:
        accepted = await t.http.post("/bla", json={"name": "web"})
        assert (accepted.status_code, accepted.headers["content-type"]) == (202, "application/json")
        assert accepted.json() == {"id": 7, "name": "web"}
        refused = await t.http.post("/bla", json={})
        assert (refused.status_code, refused.headers["content-type"]) == (400, "application/json")
        assert refused.json() == {
            "status": 400,
            "message": "invalid request to deployment: body.name: Field required",
        }


# Twilio's documents (twilio/twilio-oai, MIT) repeat the document's server on each path item; a
# path item or an operation may also name another base, which one service cannot serve as well.
OWN_SERVERS = """\
openapi: 3.0.1
info: {title: Accounts, version: 1.0.0}
servers:
  - url: https://api.twilio.com
paths:
  /2010-04-01/Accounts.json:
    servers:
      - url: https://api.twilio.com
    get:
      operationId: ListAccount
      responses:
        '200': {description: OK}
  /v1/Media:
    servers:
      - url: https://media.example.com/raw
    get:
      operationId: ListMedia
      servers:
        - url: https://media.example.com/v2
      responses:
        '200': {description: OK}
"""


def test_servers_of_a_path_or_an_operation_at_another_base_are_named(tmp_path: Path) -> None:
    """A path item's or an operation's own servers were ignored without a word: its operations are
    served under the document's first server, which the warning now says at their line."""
    spec = tmp_path / "accounts.yaml"
    spec.write_text(OWN_SERVERS)
    result = codegen(spec, "--out", tmp_path / "gen", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: accounts.yaml:14: paths./v1/Media.servers: served under the document's base '/', "
        "not '/raw': servers of its own are not served",
        "warning: accounts.yaml:18: paths./v1/Media.get.servers: served under the document's base '/', "
        "not '/v2': servers of its own are not served",
    ]


async def test_a_document_without_servers_is_served_at_the_root(gen: dict[str, ModuleType]) -> None:
    """link-example declares no servers: include() used to refuse it (and refused prefix "/" too);
    OpenAPI serves it at `/`. Its document and the probes answer beside it; its callback is a
    sender, not a route."""
    api = gen["links"]

    class Repositories(api.handlers.DefaultApi):
        async def get_pull_requests_by_repository(
            self, *, username: str, slug: str, state: Any = None
        ) -> Any:
            page = [api.models.Pullrequest(id=1, title=state)]
            return api.models.GetPullRequestsByRepositoryResponse200(page)

        async def merge_pull_request(self, *, username: str, slug: str, pid: str) -> None:
            return None

    assert [name for name, _ in inspect.getmembers(api.senders.Senders, inspect.iscoroutinefunction)] == [
        "post_on_merged"
    ]
    service = Service("links")
    service.include(Repositories())
    async with TestService(service) as t:
        listed = await t.http.get("/2.0/repositories/ann/r/pullrequests", params={"state": "open"})
        assert listed.json() == [{"id": 1, "title": "open"}]
        assert (await t.http.post("/2.0/repositories/ann/r/pullrequests/4/merge")).status_code == 204
        refused = await t.http.get("/2.0/repositories/ann/r/pullrequests", params={"state": "closed"})
        assert refused.status_code == 400
        assert [v["field"] for v in refused.json()["violations"]] == ["query.state"]
        assert (await t.http.get("/openapi.json")).json()["info"]["title"] == "Link Example"
        assert (await t.http.get("/health/ready")).status_code == 200


async def test_a_secured_document_at_the_root_is_still_enforced(gen: dict[str, ModuleType]) -> None:
    """non-oauth-scopes at the root: served without security installed it refuses to start,
    naming the operation; installed, a call without a token is a 401 naming the scheme."""
    api = gen["scopes"]

    class Users(api.handlers.DefaultApi):
        async def get_users(self) -> Any:
            return None

    bare = Service("scopes")
    bare.include(Users())
    with pytest.raises(StartupError, match=r"GET /users \(getUsers\)"):
        async with TestService(bare):
            pass
    secured = Service("scopes")
    install(secured)
    secured.include(Users())
    issuers = [{"issuer": "https://issuer.test", "keys": [ec_key("k").jwk()], "audiences": ["api://x"]}]
    async with TestService(secured, overrides=[f"security.issuers={json.dumps(issuers)}"]) as t:
        refused = await t.http.get("/users")
        assert refused.status_code == 401
        assert refused.json()["detail"] == "authentication required; send bearerAuth"


class _Keys:
    async def verify_api_key(self, key: str) -> Principal | None:
        return Principal("robot") if key == "k1" else None


async def test_enum_bodies_and_responses_and_referenced_parameters(gen: dict[str, ModuleType]) -> None:
    """tictactoe: a body that is a string enum used to be a 500 (its class is no pydantic model),
    an enum returned as the response was written unquoted, and `row` was annotated as the
    RootModel `models.Coordinate` while the handler gets an int."""
    api = gen["tictactoe"]
    board: dict[tuple[int, int], Any] = {}
    assert inspect.signature(api.handlers.DefaultApi.get_square).parameters["row"].annotation == "int"

    class Game(api.handlers.DefaultApi):
        async def get_square(self, *, row: int, column: int) -> Any:
            return api.models.GetSquareResponse200(board.get((row, column), api.models.Mark.FIELD_))

        async def put_square(self, *, row: int, column: int, body: Any) -> Any:
            board[row, column] = body.root
            return api.models.PutSquareResponse200(body.root)

    service = Service("tictactoe")
    install(service, verifiers={"defaultApiKey": _Keys()})
    service.include(Game())
    key = {"api-key": "k1"}
    async with TestService(service) as t:
        http: httpx.AsyncClient = t.http
        put = await http.put("/ttt/board/1/2", json="X", headers=key)
        assert (put.status_code, put.json()) == (200, "X")
        got = await http.get("/ttt/board/1/2", headers=key)
        assert (got.status_code, got.content) == (200, b'"X"')
        refused = await http.put("/ttt/board/1/2", json="Z", headers=key)
        assert refused.status_code == 400
        assert [v["field"] for v in refused.json()["violations"]] == ["body"]
        outside = await http.get("/ttt/board/4/1", headers=key)
        assert [v["field"] for v in outside.json()["violations"]] == ["path.row"]
        assert (await http.get("/ttt/board/1/1")).status_code == 401


def test_a_security_list_written_as_a_mapping_is_one_line_at_its_line(tmp_path: Path) -> None:
    """An earlier tictactoe wrote `security:` as a mapping: the refusal is the first paragraph of
    the validator's message at its file and line, not the schema and instance dumps after it."""
    spec = tmp_path / "tictactoe.yaml"
    spec.write_text(TICTACTOE.replace("        - defaultApiKey: []", "        defaultApiKey: []", 1))
    with pytest.raises(OpenAPIError) as refused:
        render(spec)
    assert str(refused.value) == (
        f"{spec}:17: invalid OpenAPI document at paths./board/{{row}}/{{column}}.get.security: "
        '{"defaultApiKey":[]} is not of type "array"'
    )


# From APIs-guru/openapi-directory APIs/ably.io/platform/1.1.0/openapi.yaml (Ably's
# ably/open-specs definitions/platform-v1.yaml, Apache-2.0), trimmed: a default written as a
# string in an integer schema, in a parameter the operations `$ref`.
ABLY_DEFAULT = """\
openapi: 3.0.1
info: {title: Platform API, version: 1.1.0}
paths:
  "/channels/{channel_id}/messages":
    get:
      operationId: getMessagesByChannel
      parameters:
        - $ref: "#/components/parameters/channelId"
        - $ref: "#/components/parameters/filterLimit"
      responses:
        2XX: {description: OK}
components:
  parameters:
    channelId:
      in: path
      name: channel_id
      required: true
      schema: {type: string}
    filterLimit:
      in: query
      name: limit
      schema:
        default: "100"
        type: integer
"""


def test_a_default_its_schema_refuses_is_named_at_its_line(tmp_path: Path) -> None:
    """openapi-spec-validator's error for a default of the wrong type carries no path: the refusal
    said `spec:1: ... at (root)`, leaving the user to search the document for it."""
    spec = tmp_path / "ably.yaml"
    spec.write_text(ABLY_DEFAULT)
    with pytest.raises(OpenAPIError) as refused:
        render(spec)
    assert str(refused.value) == (
        f"{spec}:23: invalid OpenAPI document at components.parameters.filterLimit.schema.default: "
        "'100' is not of type 'integer'"
    )


async def test_a_json_body_without_schema_is_any_json_value(gen: dict[str, ModuleType]) -> None:
    """`application/json: {}` (no schema) used to be typed and handed over as bytes, unparsed, and
    `schema: {}` as a RootModel: the handler gets and returns the parsed value, and a body that is
    not JSON is still a 400."""
    api = gen["untyped"]
    for name in ("relay", "put_settings"):
        signature = inspect.signature(getattr(api.handlers.DefaultApi, name))
        assert (signature.parameters["body"].annotation, signature.return_annotation) in (
            ("Any", "Any | Reply"),
            ("Any | None", "Any | Reply"),
        )
    received: list[Any] = []

    class Hooks(api.handlers.DefaultApi):
        async def relay(self, *, body: Any) -> Any:
            received.append(body)
            return {"relayed": body}

        async def put_settings(self, *, body: Any = None) -> Any:
            received.append(body)
            return body

        async def get_repo(self, *, repo: int | str, since: int | str | None = None) -> Any:
            return None

    service = Service("untyped")
    service.include(Hooks())
    async with TestService(service) as t:
        relayed = await t.http.post("/hooks", json={"event": "push", "n": [1, 2]})
        assert (relayed.status_code, relayed.json()) == (200, {"relayed": {"event": "push", "n": [1, 2]}})
        assert (await t.http.put("/settings", json=[True, None])).json() == [True, None]
        assert received == [{"event": "push", "n": [1, 2]}, [True, None]]
        for path, method in (("/hooks", "POST"), ("/settings", "PUT")):
            refused = await t.http.request(
                method, path, content=b"{push", headers={"content-type": "application/json"}
            )
            assert refused.status_code == 400
            assert [(v["field"], v["rule"]) for v in refused.json()["violations"]] == [("body", "json")]
        assert len(received) == 2


async def test_a_parameter_of_a_oneof_component_is_its_value(gen: dict[str, ModuleType]) -> None:
    """A parameter `$ref`'d to `oneOf: [integer, string]` was annotated as the RootModel
    `models.RepoId`, and a string member arrived as a RootModel of its own; the handler gets the
    int or the str, validated by the union, and a refusal names the parameter, not a member's tag."""
    api = gen["untyped"]
    parameters = inspect.signature(api.handlers.DefaultApi.get_repo).parameters
    assert (parameters["repo"].annotation, parameters["since"].annotation) == (
        "int | str",
        "int | str | None",
    )
    got: list[Any] = []

    class Repos(api.handlers.DefaultApi):
        async def relay(self, *, body: Any) -> Any:
            return None

        async def put_settings(self, *, body: Any = None) -> Any:
            return None

        async def get_repo(self, *, repo: int | str, since: int | str | None = None) -> Any:
            got.append((repo, since))
            return api.models.Repo(id=str(repo))

    service = Service("untyped")
    service.include(Repos())
    async with TestService(service) as t:
        assert (await t.http.get("/repos/42")).json() == {"id": "42"}
        assert (await t.http.get("/repos/micro-lib", params={"since": "7"})).status_code == 200
        assert got == [(42, None), ("micro-lib", 7)]
        refused = await t.http.get("/repos/Micro", params={"since": "0"})
        assert refused.status_code == 400
        assert {v["field"] for v in refused.json()["violations"]} == {"path.repo", "query.since"}
