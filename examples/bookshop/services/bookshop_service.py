"""BookshopService: the `bookshop.v1.BookshopService` service.

Written once by `microlib codegen`; this file is yours, it is never overwritten.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.bookshop.v1 import (
    Book,
    BookshopService,
    CreateBookRequest,
    GetBookRequest,
    ListBooksRequest,
    ListBooksResponse,
    StreamBooksRequest,
)
from microlib.core.context import CallContext
from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = ["BookshopServiceServicer"]


class BookshopServiceServicer(BookshopService):
    """Implements `bookshop.v1.BookshopService` over the catalog."""

    def __init__(self, catalog: Catalog, *, max_page_size: int = 50) -> None:
        self.catalog = catalog
        self.max_page_size = max_page_size

    async def get_book(self, request: GetBookRequest, ctx: CallContext) -> Book:
        return self.catalog.get(request.id)

    async def list_books(self, request: ListBooksRequest, ctx: CallContext) -> ListBooksResponse:
        # As the contract says (AIP-158): 0 is the default, a larger size is coerced down.
        size = min(request.page_size or 20, self.max_page_size)
        start = _offset(request.page_token)
        books = self.catalog.shelf(request.shelf)
        page = books[start : start + size]
        more = start + size < len(books)
        return ListBooksResponse(books=page, next_page_token=str(start + size) if more else "")

    async def create_book(self, request: CreateBookRequest, ctx: CallContext) -> Book:
        assert request.book is not None  # REQUIRED, enforced before the handler runs
        request.book.shelf = request.shelf
        return self.catalog.add(request.book)

    async def stream_books(self, request: StreamBooksRequest, ctx: CallContext) -> AsyncIterator[Book]:
        for book in self.catalog.shelf(request.shelf):
            yield book


def _offset(page_token: str) -> int:
    if not page_token:
        return 0
    # The tokens this service issues: a decimal offset in ASCII ("²" is a digit to isdigit(), not
    # to int(); a 5,000-digit string is past int()'s limit).
    if not (page_token.isascii() and page_token.isdigit() and len(page_token) <= 18):
        raise InvalidArgument(
            "page_token is not one this service returned",
            violations=[FieldViolation("page_token", "unknown page token", "format")],
        )
    return int(page_token)
