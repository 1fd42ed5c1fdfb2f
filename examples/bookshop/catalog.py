"""The bookshop's catalog: an in-memory store, as a lifecycle component."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Mapping
from typing import Any

from examples.bookshop.gen.bookshop.v1 import Book
from microlib.core.errors import NotFound

_SEED = [
    ("fiction", "Dune", "Frank Herbert", 1299),
    ("fiction", "The Left Hand of Darkness", "Ursula K. Le Guin", 1099),
    ("computing", "The Pragmatic Programmer", "David Thomas, Andrew Hunt", 3999),
    ("computing", "Designing Data-Intensive Applications", "Martin Kleppmann", 4599),
]


class Catalog:
    """Books by id, seeded at start."""

    name = "catalog"

    def __init__(self) -> None:
        self.books: dict[str, Book] = {}
        self._ids = itertools.count(1)

    async def start(self) -> None:
        for shelf, title, author, price in _SEED:
            self.add(Book(shelf=shelf, title=title, author=author, price_cents=price))

    async def stop(self) -> None:
        self.books.clear()

    async def check(self) -> Mapping[str, Any] | None:
        return {"books": len(self.books)}

    def add(self, book: Book) -> Book:
        """Store ``book`` with a new id and creation time."""
        book.id = str(next(self._ids))
        book.created_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        self.books[book.id] = book
        return book

    def get(self, book_id: str) -> Book:
        """The book with ``book_id``.

        Raises:
            NotFound: when there is none.
        """
        try:
            return self.books[book_id]
        except KeyError:
            raise NotFound(f"book {book_id!r} does not exist", reason="BOOK_NOT_FOUND") from None

    def shelf(self, shelf: str) -> list[Book]:
        """The books of ``shelf``, by id."""
        return [b for b in self.books.values() if b.shelf == shelf]
