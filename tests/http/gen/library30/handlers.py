# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 3f267fb8fbc3fa5b758a444a9acbc6a9876e5ed5295806204610675439a2e85f
"""Typed handler interfaces of Library 2.0.0, one Protocol per tag.

Implement them in your own package (``microlib codegen`` writes a stub per
tag once); a method's keyword arguments are the validated parameters and
``body``, and it returns the response model or a ``Reply``.
"""

from __future__ import annotations

import uuid
from types import ModuleType
from typing import ClassVar, Literal, Protocol, cast

from microlib.http.openapi import Reply

from . import models, operations

__all__ = ['BooksApi', 'LoansApi']



class BooksApi(Protocol):
    """Operations tagged ``books``."""

    # What service.include(...) reads: the document's operations (set below) and this tag.
    __microlib_openapi__: ClassVar[ModuleType] = cast("ModuleType", None)
    __microlib_openapi_tag__: ClassVar[str] = 'books'

    async def search_books(
        self,
        *,
        q: str,
        genre: models.Genre | None = None,
        year: list[int] | None = None,
        available: bool | None = None,
        accept_language: Literal['en', 'fr', 'de'] | None = None,
    ) -> models.SearchBooksResponse200 | Reply:
        """GET /books"""
        ...

    async def add_book(
        self,
        *,
        body: models.Book,
    ) -> models.Book | Reply:
        """POST /books"""
        ...

    async def get_book(
        self,
        *,
        isbn: str,
        fields: list[Literal['title', 'authors', 'media']] | None = None,
    ) -> models.Book | Reply:
        """GET /books/{isbn}"""
        ...


class LoansApi(Protocol):
    """Operations tagged ``loans``."""

    # What service.include(...) reads: the document's operations (set below) and this tag.
    __microlib_openapi__: ClassVar[ModuleType] = cast("ModuleType", None)
    __microlib_openapi_tag__: ClassVar[str] = 'loans'

    async def renew_loan(
        self,
        *,
        loan_id: uuid.UUID,
        matrix: models.RenewLoanMatrix,
        member: int,
        body: models.Renewal | None = None,
    ) -> models.Loan | Reply:
        """PUT /loans/{loanId}{matrix}"""
        ...

BooksApi.__microlib_openapi__ = operations
LoansApi.__microlib_openapi__ = operations
