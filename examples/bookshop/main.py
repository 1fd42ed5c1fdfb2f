"""The bookshop example: ``make run`` starts it on embedded defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request

from microlib import Service
from microlib.core.errors import NotFound


class ShopSettings(BaseModel):
    """The example's own configuration section, under the ``shop`` key."""

    greeting: str = "Welcome to the bookshop"
    max_page_size: int = Field(default=50, ge=1, le=500)


class Catalog:
    """A small in-memory catalog, as a lifecycle component."""

    name = "catalog"

    def __init__(self) -> None:
        self.books: dict[str, dict[str, Any]] = {}

    async def start(self) -> None:
        self.books = {
            "1": {"id": "1", "title": "The Pragmatic Programmer", "author": "Hunt, Thomas"},
            "2": {"id": "2", "title": "Designing Data-Intensive Applications", "author": "Kleppmann"},
        }

    async def stop(self) -> None:
        self.books = {}

    async def check(self) -> Mapping[str, Any] | None:
        return {"books": len(self.books)}


service = Service("bookshop", version="0.1.0", sections={"shop": ShopSettings})
catalog = Catalog()
service.add(catalog)


@service.http.route("/")
async def index(request: Request) -> dict[str, Any]:
    return {"message": service.section("shop", ShopSettings).greeting, "service": service.info.name}


@service.http.route("/books/{book_id}")
async def get_book(request: Request) -> dict[str, Any]:
    book_id = request.path_params["book_id"]
    try:
        return catalog.books[book_id]
    except KeyError:
        raise NotFound(f"book {book_id!r} does not exist", reason="BOOK_NOT_FOUND") from None
