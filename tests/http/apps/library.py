"""An in-memory implementation of the Library document (3.0)."""

from __future__ import annotations

import datetime
import uuid
from typing import Literal

from microlib.core.errors import NotFound
from microlib.http.openapi import Reply
from tests.http.gen.library30 import models
from tests.http.gen.library30.handlers import BooksApi, LoansApi


class Books(BooksApi):
    """Books kept in a dict; the last call's arguments are kept in ``last``."""

    def __init__(self) -> None:
        self.books: dict[str, models.Book] = {}
        self.last: dict[str, object] = {}

    async def search_books(
        self,
        *,
        q: str,
        genre: models.Genre | None = None,
        year: list[int] | None = None,
        available: bool | None = None,
        accept_language: Literal["en", "fr", "de"] | None = None,
    ) -> models.SearchBooksResponse200 | Reply:
        """Books whose title contains ``q``."""
        self.last = {
            "q": q,
            "genre": genre,
            "year": year,
            "available": available,
            "accept_language": accept_language,
        }
        found = [b for b in self.books.values() if q.lower() in b.title.lower()]
        return models.SearchBooksResponse200(found)

    async def add_book(self, *, body: models.Book) -> models.Book | Reply:
        """Store a book."""
        self.books[body.isbn] = body
        return Reply(body, status=201)

    async def get_book(
        self, *, isbn: str, fields: list[Literal["title", "authors", "media"]] | None = None
    ) -> models.Book | Reply:
        """One book, or NotFound."""
        if isbn not in self.books:
            raise NotFound(f"no book {isbn}")
        return self.books[isbn]


class Loans(LoansApi):
    """Renews any loan for the asked number of days."""

    def __init__(self) -> None:
        self.last: dict[str, object] = {}

    async def renew_loan(
        self,
        *,
        loan_id: uuid.UUID,
        matrix: models.RenewLoanMatrix,
        member: int,
        body: models.Renewal | None = None,
    ) -> models.Loan | Reply:
        """A loan due ``matrix.days`` after 2026-01-01."""
        self.last = {"loan_id": loan_id, "matrix": matrix, "member": member, "body": body}
        due = datetime.date(2026, 1, 1) + datetime.timedelta(days=matrix.days)
        return models.Loan(id=loan_id, isbn="9780000000001", due=due, renewals=1)
