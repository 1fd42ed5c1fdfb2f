"""BookshopService: the `bookshop.v1.BookshopService` service.

Written once by `microlib codegen`; this file is yours, it is never overwritten.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from microlib.core.context import CallContext
from microlib.core.errors import Unimplemented

from examples.bookshop.gen.bookshop.v1 import (
    Book,
    BookshopService,
    CreateBookRequest,
    GetBookRequest,
    ListBooksRequest,
    ListBooksResponse,
    StreamBooksRequest,
)

__all__ = ["BookshopServiceServicer"]


class BookshopServiceServicer(BookshopService):
    """Implements `bookshop.v1.BookshopService`."""

    async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:
        raise Unimplemented("bookshop.v1.BookshopService/GetBook is not implemented yet")

    async def list_books(self, request: ListBooksRequest, ctx: CallContext) -> ListBooksResponse:
        raise Unimplemented("bookshop.v1.BookshopService/ListBooks is not implemented yet")

    async def create_book(self, request: CreateBookRequest, ctx: CallContext) -> Book:
        raise Unimplemented("bookshop.v1.BookshopService/CreateBook is not implemented yet")

    def stream_books(self, request: StreamBooksRequest, ctx: CallContext) -> AsyncIterator[Book]:
        raise Unimplemented("bookshop.v1.BookshopService/StreamBooks is not implemented yet")
