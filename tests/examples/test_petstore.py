"""The pet store example, written as a project's tests are: with microlib's pytest fixtures."""

from __future__ import annotations

import httpx
import pytest

from examples.petstore.main import create_service
from microlib import Service
from microlib.testing import Spans
from tests.cli.conftest import ROOT, microlib


@pytest.fixture
def microlib_service() -> Service:
    """The service under test (the repository's pyproject names the bookshop)."""
    return create_service()


async def test_a_pet_is_added_ordered_and_counted(http_client: httpx.AsyncClient) -> None:
    added = await http_client.post("/v1/pets", json={"name": "Rex", "category": "dog", "tags": ["good"]})
    assert added.status_code == 201, added.text
    assert added.headers["location"] == "/v1/pets/1"
    assert added.json() == {
        "id": 1,
        "name": "Rex",
        "category": "dog",
        "tags": ["good"],
        "status": "available",
    }
    order = await http_client.post("/v1/store/orders", json={"petId": 1})
    assert (order.status_code, order.json()) == (201, {"id": 1, "petId": 1, "status": "placed"})
    assert (await http_client.get("/v1/store/orders/1")).json()["status"] == "placed"
    inventory = await http_client.get("/v1/store/inventory")
    assert inventory.json() == {"available": 0, "pending": 1, "sold": 0}
    page = await http_client.get("/v1/pets", params={"status": "pending"})
    assert [pet["name"] for pet in page.json()["items"]] == ["Rex"]


async def test_the_contract_and_the_handlers_refuse_what_they_must(http_client: httpx.AsyncClient) -> None:
    invalid = await http_client.post("/v1/pets", json={"name": "", "category": "dragon"})
    assert invalid.status_code == 400
    assert {v["field"] for v in invalid.json()["violations"]} == {"body.name", "body.category"}
    await http_client.post("/v1/pets", json={"name": "Tom", "category": "cat"})
    await http_client.post("/v1/store/orders", json={"petId": 1})
    again = await http_client.post("/v1/store/orders", json={"petId": 1})
    assert (again.status_code, again.json()["reason"]) == (400, "PET_NOT_AVAILABLE")
    missing = await http_client.get("/v1/pets/9")
    assert (missing.status_code, missing.json()["reason"]) == (404, "PET_NOT_FOUND")
    assert (await http_client.delete("/v1/pets/1")).status_code == 204
    assert (await http_client.get("/v1/pets/1")).status_code == 404


async def test_its_document_and_docs_are_served(http_client: httpx.AsyncClient, spans: Spans) -> None:
    document = (await http_client.get("/v1/openapi.json")).json()
    assert (document["info"]["title"], document["servers"]) == ("Pet store", [{"url": "/v1"}])
    assert (await http_client.get("/v1/docs")).status_code == 200
    await http_client.get("/v1/pets/9")
    assert spans.one("GET /v1/pets/{petId}").attributes["http.response.status_code"] == 404


def test_its_generated_package_matches_its_contract() -> None:
    """`microlib codegen --check` (pyproject's codegen table covers the bookshop only)."""
    result = microlib(
        "codegen",
        "examples/petstore/contracts",
        "--out",
        "examples/petstore/gen",
        "--package",
        "examples.petstore.gen",
        "--stubs",
        "examples/petstore/services",
        "--check",
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
