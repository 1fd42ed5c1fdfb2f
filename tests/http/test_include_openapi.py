"""``service.include(...)`` wires an OpenAPI-first implementation as it wires a servicer."""

from __future__ import annotations

import pytest

from examples.bookshop.gen.orders import models
from examples.bookshop.gen.orders.handlers import OrdersApi
from examples.petstore.gen.petstore.handlers import PetsApi
from microlib import Service
from microlib.core.errors import ContractMismatch, NotFound
from microlib.http.openapi import Reply
from microlib.testing import TestService


class Orders(OrdersApi):
    async def list_orders(
        self, *, status: models.OrderStatus | None = None, limit: int = 20
    ) -> models.ListOrdersResponse200 | Reply:
        return models.ListOrdersResponse200(orders=[])

    async def create_order(self, *, body: models.NewOrder) -> models.Order | Reply:
        raise NotFound("no books today")

    async def get_order(self, *, order_id: str) -> models.Order | Reply:
        raise NotFound(f"no order {order_id}")


class Incomplete(OrdersApi):
    async def list_orders(
        self, *, status: models.OrderStatus | None = None, limit: int = 20
    ) -> models.ListOrdersResponse200 | Reply:
        return models.ListOrdersResponse200(orders=[])


async def test_served_at_the_documents_server_path_with_its_docs() -> None:
    """One call: the operations under /api (the document's server), through the chain, with the docs."""
    service = Service("included")
    service.include(Orders())
    async with TestService(service) as t:
        assert (await t.http.get("/api/orders")).json() == {"orders": []}
        missing = await t.http.get("/api/orders/o-9")
        assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
        assert (await t.http.get("/api/openapi.json")).json()["info"]["title"] == "Bookshop orders"
        assert (await t.http.get("/api/docs")).status_code == 200
    # Through the service's chain: the call is traced and logged as any other.
    assert t.spans.one("GET /api/orders/{orderId}")
    assert t.logged("http request", path="/api/orders/o-9", status=404)


async def test_a_prefix_given_to_include_wins() -> None:
    service = Service("included")
    service.include(Orders(), prefix="/shop/")
    async with TestService(service) as t:
        assert (await t.http.get("/shop/orders")).status_code == 200
        assert (await t.http.get("/api/orders")).status_code == 404


def test_a_missing_method_is_refused_where_it_is_included() -> None:
    """Not at the first request (it used to answer 200 with an empty body): at include, naming it."""
    service = Service("included")
    with pytest.raises(ContractMismatch, match=r"orders\.create_order \(createOrder\), orders\.get_order"):
        service.include(Incomplete())


async def test_at_the_root_the_operations_and_pages_are_served_and_nothing_else_is_shadowed() -> None:
    """prefix "" (a document without servers, which OpenAPI serves at `/`): its operations and
    pages at the root, while the probes and unknown paths still answer as the service's own (a
    Mount at the root would have taken every path)."""
    service = Service("included")
    service.include(Orders(), prefix="")
    async with TestService(service) as t:
        assert (await t.http.get("/orders")).json() == {"orders": []}
        assert (await t.http.get("/openapi.json")).json()["servers"] == [{"url": "/"}]
        assert (await t.http.get("/docs")).status_code == 200
        assert (await t.http.get("/health/ready")).status_code == 200
        assert (await t.http.get("/nowhere")).json()["detail"] == "no route matches GET /nowhere"


def test_a_relative_prefix_or_two_prefixes_the_include_says_what_to_do() -> None:
    service = Service("included")
    with pytest.raises(ContractMismatch, match="the server URL 'api' is relative"):
        service.include(Orders(), prefix="api")
    service.include(Orders(), prefix="/a")
    with pytest.raises(ContractMismatch, match="included under '/a' and '/b'"):
        service.include(Orders(), prefix="/b")
    with pytest.raises(ContractMismatch, match=r"tag\(s\) \['orders'\] are already implemented"):
        service.include(Orders(), prefix="/a")
    with pytest.raises(TypeError, match="prefix= is for OpenAPI handlers"):
        service.include(object(), prefix="/a")


def test_one_object_for_two_documents_is_refused() -> None:
    """Each document is mounted at its own prefix: an object implementing two is ambiguous."""

    class Both(Orders, PetsApi):
        pass

    with pytest.raises(ContractMismatch, match="handler interfaces of several OpenAPI documents"):
        Service("included").include(Both())


async def test_a_tag_left_out_fails_the_start_naming_the_class_to_include() -> None:
    """A tag whose stub was never included (a new tag in the document) is no silent 404: the start
    fails naming the tag and its generated Protocol."""
    from examples.petstore.services.pets import Pets
    from examples.petstore.services.shelter import Shelter

    service = Service("included")
    service.include(Pets(Shelter()))
    with pytest.raises(ContractMismatch) as refused:
        async with TestService(service):
            pass
    assert str(refused.value) == (
        "Pet store: no included object implements tag(s) 'store' "
        "(examples.petstore.gen.petstore.handlers.StoreApi); include an implementation of each with "
        "service.include() (`microlib codegen` wrote a stub class for each tag in your stubs folder)"
    )


async def test_a_document_at_the_root_whose_pages_are_taken_fails_the_start_saying_how_to_move_one() -> None:
    """The transcoded services' document is at /openapi.json by default; a document without
    servers would be served there too, and the first route added answers: one of the two
    documents was silently the other. The start fails naming both ways out; moving one works."""
    from tests.http.rpc.service import library_service

    service = library_service()
    service.include(Orders(), prefix="")
    with pytest.raises(ContractMismatch) as refused:
        async with TestService(service):
            pass
    assert str(refused.value).startswith(
        "the OpenAPI document 'Bookshop orders' is served at the root (it declares no servers), and "
        "/docs, /openapi.json, /openapi.yaml are served already"
    )
    assert "transcoding.docs_prefix" in str(refused.value)
    moved = library_service()
    moved.include(Orders(), prefix="")
    async with TestService(moved, overrides=["transcoding.docs_prefix=/rest"]) as t:
        assert (await t.http.get("/openapi.json")).json()["info"]["title"] == "Bookshop orders"
        assert (await t.http.get("/rest/openapi.json")).status_code == 200


class Swapped(Orders):
    async def list_orders(
        self, *, status: models.OrderStatus | None = None, limit: int = 20
    ) -> models.ListOrdersResponse200 | Reply:
        return Reply(200, models.ListOrdersResponse200(orders=[]))  # type: ignore[arg-type]

    async def get_order(self, *, order_id: str) -> models.Order | Reply:
        return Reply({"id": order_id}, "200")  # type: ignore[arg-type]


async def test_a_reply_whose_status_is_not_an_int_names_the_operation() -> None:
    """`Reply(200, order)` took the order for the status: the log said `TypeError: unhashable
    type` from inside the encoder. Now it names the operation and the order of the arguments."""
    service = Service("included")
    service.include(Swapped())
    async with TestService(service) as t:
        assert (await t.http.get("/api/orders")).status_code == 500
        assert (await t.http.get("/api/orders/o-1")).status_code == 500
    assert t.logged("reply status is not an int", method="listOrders", status="ListOrdersResponse200")
    assert t.logged("reply status is not an int", method="getOrder", status="'200'")
