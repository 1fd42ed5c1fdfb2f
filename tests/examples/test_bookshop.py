"""The bookshop example end to end: gRPC, the OpenAPI-first API, probes, metrics."""

from __future__ import annotations

from typing import Any

import pytest

from examples.bookshop.gen.bookshop.v1 import (
    Book,
    BookshopServiceClient,
    CreateBookRequest,
    GetBookRequest,
    ListBooksRequest,
    StreamBooksRequest,
)
from microlib.core.errors import InvalidArgument, NotFound
from microlib.testing import TestService
from tests.messaging.contract import eventually

# `running_service` is microlib's pytest fixture: the service of pyproject.toml's
# [tool.microlib] service, built by its module's create_service() for this test.


async def test_an_order_from_a_special_use_domain_is_accepted(running_service: TestService) -> None:
    """JSON Schema's ``email`` is RFC 5321's mailbox: ``reader@shop.test`` is one, from the
    service's first request on (email-validator alone refuses special-use domains)."""
    order = await running_service.http.post(
        "/api/orders", json={"customer": "reader@shop.test", "lines": [{"book_id": "1", "quantity": 1}]}
    )
    assert order.status_code == 201, order.text


async def test_bookshop_serves_grpc_and_the_orders_api(running_service: TestService) -> None:
    """One service answers its proto contract over gRPC and its OpenAPI contract over HTTP."""
    t = running_service
    books = BookshopServiceClient(t.grpc)
    dune = await books.get_book(GetBookRequest(id="1"))
    assert dune.title == "Dune"
    shelf = [b.title async for b in books.stream_books(StreamBooksRequest(shelf="computing"))]
    assert shelf == ["The Pragmatic Programmer", "Designing Data-Intensive Applications"]
    page = await books.list_books(ListBooksRequest(shelf="fiction", page_size=1))
    assert [b.title for b in page.books] == ["Dune"]
    assert page.next_page_token == "1"
    created = await books.create_book(
        CreateBookRequest(shelf="poetry", book=Book(title="Ariel", author="Sylvia Plath"))
    )
    assert created.shelf == "poetry"
    assert created.id
    with pytest.raises(InvalidArgument) as invalid:
        await books.create_book(CreateBookRequest(shelf="poetry", book=Book(title="")))
    assert [v.field for v in invalid.value.violations] == ["book.title", "book.author"]
    with pytest.raises(NotFound) as missing:
        await books.get_book(GetBookRequest(id="999"))
    assert missing.value.reason == "BOOK_NOT_FOUND"
    call = t.grpc.unary_unary("/bookshop.v1.BookshopService/GetBook")(
        bytes(GetBookRequest(id="1")), metadata=(("x-request-id", "req-42"),)
    )
    await call
    # The request id is echoed in the trailers, which ride with the status.
    assert ("x-request-id", "req-42") in tuple(await call.trailing_metadata())

    order = await t.http.post(
        "/api/orders", json={"customer": "ann@example.com", "lines": [{"book_id": "1", "quantity": 2}]}
    )
    assert order.status_code == 201, order.text
    assert (await t.http.get(f"/api/orders/{order.json()['id']}")).json()["status"] == "placed"
    # The order published OrderPlaced; the stock reservation consumed it.
    placed = order.json()["id"]

    async def reserved() -> Any:
        reservations = (await t.http.get("/reservations")).json()
        return reservations if placed in reservations["orders"] else None

    assert await eventually(reserved, what="the stock reservation") == {
        "orders": [placed],
        "reserved": {"1": 2},
    }
    assert (await t.http.get("/asyncapi.json")).json()["info"]["title"] == "Bookshop events"
    # The order enqueued its confirmation job; the nightly report is scheduled.
    await t.jobs.run_until_idle()
    assert [e["order_id"] for e in t.logged("order confirmed")] == [order.json()["id"]]
    assert await t.service.component("jobs-scheduler").check() == {
        "leader": True,
        "jobs": ["restock_report"],
    }
    bad = await t.http.post(
        "/api/orders", json={"customer": "ann", "lines": [{"book_id": "1", "quantity": 0}]}
    )
    assert bad.status_code == 400
    assert {v["field"] for v in bad.json()["violations"]} == {"body.customer", "body.lines[0].quantity"}
    assert (await t.http.get("/api/openapi.json")).json()["info"]["title"] == "Bookshop orders"

    rest = await t.http.get("/v1/books/1")
    assert rest.status_code == 200, rest.text
    assert rest.json()["title"] == "Dune"
    assert rest.json()["priceCents"] == "1299"  # int64 as a string, lowerCamelCase
    assert (await t.http.get("/v1/books/999")).json()["reason"] == "BOOK_NOT_FOUND"
    created = await t.http.post("/v1/shelves/poetry/books", json={"title": "Ariel", "author": "Plath"})
    assert created.status_code == 200, created.text
    assert created.json()["shelf"] == "poetry"
    streamed = await t.http.get("/v1/shelves/fiction/books:stream")
    assert [line for line in streamed.text.splitlines() if line]  # NDJSON lines
    assert "/v1/books/{id}" in (await t.http.get("/rest/openapi.json")).json()["paths"]

    assert (await t.http.get("/health/ready")).status_code == 200
    metrics = (await t.http.get("/metrics")).text
    assert 'rpc_server_requests_total{code="NOT_FOUND",method="GetBook"' in metrics
    assert "http_server_requests_total" in metrics
    # The OpenAPI-first API is mounted at /api: its requests carry the operation's template.
    assert '{method="GET",route="/api/orders/{orderId}",status="200"}' in metrics
    assert 'http_server_requests_total{method="POST",route="/api/orders",status="400"}' in metrics


async def test_the_nightly_restock_report_runs_at_three_in_paris() -> None:
    """The contract's cron (03:00 Europe/Paris) fires on the embedded defaults: at 02:00 UTC
    in winter the report runs, once, with the scheduled payload, and names the low shelves."""
    from examples.bookshop.main import create_service

    before = 1_796_435_990.0  # 2026-12-05 01:59:50 UTC: 02:59:50 in Paris
    async with TestService(create_service(), frozen_time=before) as t:
        await t.jobs.run_until_idle()
        assert t.logged("restock report") == []
        await t.jobs.advance(5)
        assert t.logged("restock report") == []
        await t.jobs.advance(3600)
        [report] = t.logged("restock report")
        assert report["tick"] == before + 10
        assert report["low_shelves"] == {}  # two books on each seeded shelf: none below 2
        assert t.logged("call completed")[-1]["method"] == "bookshop.jobs/restock_report"


@pytest.mark.parametrize("token", ["²", "x1", "9" * 5000])
async def test_a_page_token_the_service_never_issued_is_refused_on_both_doors(
    running_service: TestService, token: str
) -> None:
    """Not a 500: schemathesis found `²` (a digit to ``isdigit()``, not to ``int()``)."""
    with pytest.raises(InvalidArgument) as refused:
        await BookshopServiceClient(running_service.grpc).list_books(
            ListBooksRequest(shelf="fiction", page_token=token)
        )
    assert [v.field for v in refused.value.violations] == ["page_token"]
    rest = await running_service.http.get("/v1/shelves/fiction/books", params={"pageToken": token})
    assert rest.status_code == 400, rest.text
