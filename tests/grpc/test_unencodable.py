"""A message that cannot be encoded is named with its RPC and the field at fault, on both ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from examples.bookshop.gen.bookshop.v1 import (
    Book,
    BookshopService,
    BookshopServiceClient,
    CreateBookRequest,
    GetBookRequest,
    ListBooksRequest,
    ListBooksResponse,
    StreamBooksRequest,
)
from microlib import Service
from microlib.core.context import CallContext
from microlib.core.errors import Internal
from microlib.testing import TestService

# What GetBook hands back for each id: the mistakes a handler makes.
WRONG: dict[str, Any] = {
    "none": None,  # a forgotten `return`
    "dict": {"id": "1"},
    "other": ListBooksResponse(),
    "field": Book(id="1", price_cents="12"),  # type: ignore[arg-type]
    "nested": Book(id="1", tags=["a", 3]),  # type: ignore[list-item]
}


class Sloppy(BookshopService):
    async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:
        return WRONG[request.id]  # type: ignore[no-any-return]

    async def list_books(self, request: ListBooksRequest, ctx: CallContext) -> ListBooksResponse:
        return ListBooksResponse()

    async def create_book(self, request: CreateBookRequest, ctx: CallContext) -> Book:
        return Book()

    async def stream_books(self, request: StreamBooksRequest, ctx: CallContext) -> AsyncIterator[Book]:
        yield Book()


def _service() -> Service:
    service = Service("bookshop")
    service.include(Sloppy())
    return service


def _logged(logs: list[dict[str, Any]]) -> str:
    """The last line of the traceback of the last error the service logged."""
    errors = [e for e in logs if "exception" in e]
    return str(errors[-1]["exception"]).splitlines()[-1]


RESPONSES = [
    ("none", "the response must be a Book message, not None"),
    ("dict", "the response must be a Book message, not a dict"),
    ("other", "the response must be a Book message, not a ListBooksResponse"),
    ("field", "the response does not encode: Book.price_cents: expected int, got str '12'"),
    ("nested", "the response does not encode: Book.tags[1]: expected str, got int 3"),
]


@pytest.mark.parametrize(("book", "said"), RESPONSES)
async def test_a_response_that_does_not_encode_is_named_over_grpc_and_rest(book: str, said: str) -> None:
    """The client gets INTERNAL over gRPC and 500 over REST; the log names the RPC and what is
    wrong, where it was an AttributeError or `bad argument type for built-in operation` from
    inside the generated codec. Over REST a mistyped field was written into the document as it
    was (a 200 with ``"tags": ["a", 3]``)."""
    async with TestService(_service()) as t:
        with pytest.raises(Internal):
            await BookshopServiceClient(t.grpc).get_book(GetBookRequest(id=book))
        assert _logged(t.logs) == f"TypeError: bookshop.v1.BookshopService/GetBook: {said}"
        response = await t.http.get(f"/v1/books/{book}")
        assert response.status_code == 500, response.text
        assert _logged(t.logs) == f"TypeError: bookshop.v1.BookshopService/GetBook: {said}"


async def test_a_response_that_does_not_encode_is_logged_counted_and_traced_as_internal() -> None:
    """The response is encoded inside the chain, so the access line, the metric and the span say
    INTERNAL, as the client saw; encoded after the chain, they had recorded OK."""
    async with TestService(_service()) as t:
        with pytest.raises(Internal):
            await BookshopServiceClient(t.grpc).get_book(GetBookRequest(id="field"))
        [completed] = [e for e in t.logs if e["event"] == "call completed"]
        assert completed["code"] == "INTERNAL"
        [span] = t.spans.named("bookshop.v1.BookshopService/GetBook")
        assert span.attributes is not None
        assert span.attributes["rpc.grpc.status_code"] == 13
        metrics = (await t.http.get("/metrics")).text
        assert 'rpc_server_requests_total{code="INTERNAL",method="GetBook"' in metrics, metrics
        assert 'code="OK"' not in metrics


async def test_an_interceptor_that_replaces_the_response_has_its_own_encoded() -> None:
    """What the client receives is what the chain returned: a response an interceptor put in the
    handler's place is encoded after the chain; the bytes of the handler's own are not sent."""

    class Replace:
        async def intercept(self, ctx: CallContext, call_next: Any) -> Any:
            await call_next(ctx)
            return Book(id="replaced")

    service = Service("bookshop", interceptors=[Replace()])
    service.include(Sloppy())
    async with TestService(service) as t:
        book = await BookshopServiceClient(t.grpc).create_book(
            CreateBookRequest(shelf="s", book=Book(title="t", author="a"))
        )
        assert book.id == "replaced"


async def _one(request: Any) -> AsyncIterator[Any]:
    yield request


async def test_a_request_that_does_not_encode_is_named_by_the_client() -> None:
    """A wrong request never reaches the wire: a TypeError naming the RPC and the field, on each of
    the client's call shapes."""
    async with TestService(_service()) as t:
        client = BookshopServiceClient(t.grpc)
        with pytest.raises(TypeError) as raised:
            await client.get_book(ListBooksRequest(shelf="x"))  # type: ignore[arg-type]
        assert str(raised.value) == (
            "bookshop.v1.BookshopService/GetBook: the request must be a GetBookRequest message, "
            "not a ListBooksRequest"
        )
        with pytest.raises(TypeError) as raised:
            await client.get_book(GetBookRequest(id=7))  # type: ignore[arg-type]
        assert str(raised.value) == (
            "bookshop.v1.BookshopService/GetBook: the request does not encode: GetBookRequest.id: "
            "expected str, got int 7"
        )
        with pytest.raises(TypeError) as raised:
            await client.create_book(CreateBookRequest(book=Book(title=None)))  # type: ignore[arg-type]
        assert str(raised.value) == (
            "bookshop.v1.BookshopService/CreateBook: the request does not encode: "
            "CreateBookRequest.book.title: expected str, got NoneType None"
        )
        with pytest.raises(TypeError) as raised:
            [b async for b in client.stream_books(None)]  # type: ignore[arg-type]
        assert str(raised.value) == (
            "bookshop.v1.BookshopService/StreamBooks: the request must be a StreamBooksRequest message, "
            "not None"
        )
