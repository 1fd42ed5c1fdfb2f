"""A LibraryService implementation for the transcoding tests: echoes what it was given."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

from microlib.core.context import CallContext
from microlib.core.errors import FailedPrecondition, NotFound
from tests.http.rpc import generated as _generated  # noqa: F401  (makes gen_transcode importable)

from gen_transcode.google.protobuf import Empty  # isort: skip
from gen_transcode.transcode.v1 import (  # isort: skip
    BatchGetBooksRequest,
    BatchGetBooksResponse,
    Book,
    CreateBookRequest,
    DeleteBookRequest,
    EchoRequest,
    Everything,
    File,
    GetBookRequest,
    GetFileRequest,
    GetShelfRequest,
    LibraryService,
    SearchBooksRequest,
    SearchBooksResponse,
    Shelf,
    StreamBooksRequest,
    UpdateBookRequest,
)

__all__ = ["Library"]


MAX_STREAMED = 1000


class Library(LibraryService):
    """Answers from its arguments, so tests see how the request was built."""

    def __init__(self) -> None:
        self.requests: list[object] = []

    async def get_shelf(self, request: GetShelfRequest, ctx: CallContext) -> Shelf:
        """The shelf named in the path; ``shelves/missing`` is NOT_FOUND."""
        self.requests.append(request)
        ctx.response_metadata["x-shelf"] = "seen"
        ctx.response_trailers["x-shelf-after"] = "€uro"
        if request.name == "shelves/missing":
            raise NotFound(f"{request.name} does not exist")
        return Shelf(name=request.name, theme="fiction")

    async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:
        """A book whose id is the last name segment."""
        self.requests.append(request)
        shelf, _, book = request.name.removeprefix("shelves/").partition("/books/")
        return Book(
            id=book,
            shelf=shelf,
            title="Dune",
            tags=list(request.read_mask.paths if request.read_mask else []),
        )

    async def create_book(self, request: CreateBookRequest, ctx: CallContext) -> Book:
        """The book as given, id ``1``."""
        self.requests.append(request)
        return Book(
            id="1",
            shelf=request.shelf,
            title=request.title,
            price_cents=request.price_cents,
            format=request.format,
        )

    async def update_book(self, request: UpdateBookRequest, ctx: CallContext) -> Book:
        """The book as given."""
        self.requests.append(request)
        assert request.book is not None
        return request.book

    async def search_books(self, request: SearchBooksRequest, ctx: CallContext) -> SearchBooksResponse:
        """One book per tag."""
        self.requests.append(request)
        return SearchBooksResponse(books=[Book(id=t, title=t) for t in request.tags], echo=request)

    async def batch_get_books(self, request: BatchGetBooksRequest, ctx: CallContext) -> BatchGetBooksResponse:
        """One book per id."""
        self.requests.append(request)
        return BatchGetBooksResponse(books=[Book(id=i, shelf=request.shelf, title=i) for i in request.ids])

    async def delete_book(self, request: DeleteBookRequest, ctx: CallContext) -> Empty:
        """Nothing."""
        self.requests.append(request)
        return Empty()

    async def get_file(self, request: GetFileRequest, ctx: CallContext) -> File:
        """The path, and its bytes."""
        self.requests.append(request)
        return File(path=request.path, content=base64.b64decode(base64.b64encode(request.path.encode())))

    async def echo(self, request: EchoRequest, ctx: CallContext) -> Everything:
        """The request's message itself."""
        self.requests.append(request)
        return request.everything or Everything()

    async def stream_books(self, request: StreamBooksRequest, ctx: CallContext) -> AsyncIterator[Book]:
        """``count`` books (at most ``MAX_STREAMED``), failing after ``fail_after`` when set."""
        self.requests.append(request)
        # A fuzzer asks for up to 2**31 - 1 books: without a cap one call
        # streams for hours (what made a random schemathesis run "hang").
        for i in range(min(request.count, MAX_STREAMED)):
            if request.fail_after and i == request.fail_after:
                raise FailedPrecondition("the shelf fell over", reason="SHELF_FELL")
            yield Book(id=str(i), shelf=request.shelf, title=f"Book {i}")
