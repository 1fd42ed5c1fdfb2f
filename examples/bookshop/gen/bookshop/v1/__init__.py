# Generated from bookshop/v1/bookshop.proto by microlib-codegen 0.1.0. DO NOT EDIT.
"""The `bookshop.v1` contract package: messages, enums, services."""

from __future__ import annotations

from ..._messages.bookshop.v1 import (
    Book,
    CreateBookRequest,
    GetBookRequest,
    ListBooksRequest,
    ListBooksResponse,
    StreamBooksRequest,
)
from ._bookshop_service import BookshopService, BookshopServiceClient

__all__ = [
    "Book",
    "BookshopService",
    "BookshopServiceClient",
    "CreateBookRequest",
    "GetBookRequest",
    "ListBooksRequest",
    "ListBooksResponse",
    "StreamBooksRequest",
]
