"""A contract of our own, generated and served: required readOnly/writeOnly properties hold in one
direction only, and the errors microlib produces take the shape the document declares."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import MISSING

from microlib import Service
from microlib.core.errors import NotFound
from microlib.http import OpenAPIApp
from microlib.testing import TestService
from tests.http.generated import generated_package

SPEC = Path(__file__).parent / "specs" / "visibility" / "openapi.yaml"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The contract generated into an importable ``gen_visibility`` package."""
    with generated_package(SPEC, tmp_path_factory.mktemp("visibility"), "gen_visibility") as package:
        yield package


@pytest.fixture
async def client(package: ModuleType) -> AsyncIterator[httpx.AsyncClient]:
    """The contract served with handlers that keep what they were given."""
    models = importlib.import_module("gen_visibility.models")
    operations = importlib.import_module("gen_visibility.operations")

    class Accounts:
        received: list[Any] = []

        async def create_account(self, *, body: Any) -> Any:
            self.received.append(body)
            owner = models.Person(id="p1", name=body.owner.name)
            # The response leaves out the writeOnly password, required in the request.
            return models.Account(id=7, name=body.name, owner=owner)

        async def get_account(self, *, account_id: int) -> Any:
            raise NotFound(f"no account {account_id}")

    app = OpenAPIApp(
        operations.OPERATIONS, {"default": Accounts()}, title="Accounts", validate_responses=True
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        c.received = Accounts.received  # type: ignore[attr-defined]
        yield c


NEW = {"name": "main", "password": "s3cret", "owner": {"name": "Ada"}}


async def test_a_request_body_needs_no_read_only_property(client: httpx.AsyncClient) -> None:
    """The required readOnly ids (top level and nested) are not required in a request; the
    response needs no writeOnly password though it is required in requests."""
    response = await client.post("/accounts", json=NEW)
    assert response.status_code == 201, response.text
    assert response.json() == {"id": 7, "name": "main", "owner": {"id": "p1", "name": "Ada"}}


async def test_a_read_only_property_sent_anyway_is_accepted_if_valid(client: httpx.AsyncClient) -> None:
    """A client sending back what it read (ids included) is served, the ids checked against their
    schema and passed on; absent, the handler sees MISSING."""
    response = await client.post("/accounts", json={**NEW, "id": 99, "owner": {"id": "x", "name": "Ada"}})
    assert response.status_code == 201, response.text
    body = client.received[-1]  # type: ignore[attr-defined]
    assert (body.id, body.owner.id) == (99, "x")
    await client.post("/accounts", json=NEW)
    assert client.received[-1].id is MISSING  # type: ignore[attr-defined]
    response = await client.post("/accounts", json={**NEW, "id": "not a number"})
    assert response.status_code == 400


async def test_a_write_only_property_is_still_required_in_a_request(client: httpx.AsyncClient) -> None:
    """writeOnly is not required in responses only."""
    response = await client.post("/accounts", json={"name": "main", "owner": {"name": "Ada"}})
    assert response.status_code == 400


async def test_a_validation_error_takes_the_declared_default_shape(client: httpx.AsyncClient) -> None:
    """createAccount declares `default` as application/json ApiError: its 400 is one, the violations
    listed in its array of objects."""
    response = await client.post("/accounts", json={"name": "", "password": "p", "owner": {}})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == 400
    assert body["message"] == "invalid request to createAccount"
    assert {e["field"] for e in body["errors"]} == {"body.name", "body.owner.name"}
    assert all(e["message"] for e in body["errors"])
    assert set(body) == {"code", "message", "errors"}


async def test_a_handler_error_takes_the_shape_declared_for_its_status(client: httpx.AsyncClient) -> None:
    """getAccount declares 404 as ApiError: the handler's NotFound is one, without `errors`."""
    response = await client.get("/accounts/5")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": 404, "message": "no account 5"}


async def test_an_undeclared_status_stays_problem_json(client: httpx.AsyncClient) -> None:
    """getAccount declares no 400 and no default: a bad path value is problem+json."""
    response = await client.get("/accounts/abc")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["violations"][0]["field"] == "path.accountId"


async def test_405_and_unknown_paths_take_the_shape_the_operations_declare(client: httpx.AsyncClient) -> None:
    """GET /accounts: the path's one operation declares `default`; an unknown path: every operation
    declares ApiError for a 404 (one through `default`)."""
    response = await client.get("/accounts")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": 405, "message": "method GET is not allowed on /accounts"}
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": 404, "message": "no operation matches GET /nowhere"}


async def test_the_bare_prefix_of_a_mounted_document_takes_its_404_shape(package: ModuleType) -> None:
    """``/api`` where the document is mounted at ``/api``: the router found no route, and answered
    its own problem+json; it is the document's 404 now, as ``/api/`` and ``/api/nowhere`` are."""
    operations = importlib.import_module("gen_visibility.operations")

    class Unreached:
        async def create_account(self, *, body: Any) -> Any:
            raise NotImplementedError

        async def get_account(self, *, account_id: int) -> Any:
            raise NotImplementedError

    service = Service("accounts")
    app = OpenAPIApp(operations.OPERATIONS, {"default": Unreached()}, title="Accounts", prefix="/api")
    service.http.mount("/api", app)
    async with TestService(service) as t:
        for path in ("/api", "/api/", "/api/nowhere"):
            response = await t.http.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/json", path
            assert response.json() == {"code": 404, "message": f"no operation matches GET {path}"}
        response = await t.http.get("/apis")  # no mount's prefix: the router's own 404
        assert response.headers["content-type"] == "application/problem+json"
