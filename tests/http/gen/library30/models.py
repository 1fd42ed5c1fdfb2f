# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 3f267fb8fbc3fa5b758a444a9acbc6a9876e5ed5295806204610675439a2e85f
"""Models of openapi.yaml."""

from __future__ import annotations
from enum import StrEnum
from typing import Annotated, Literal
from pydantic import BaseModel, ConfigDict, Field, MISSING, RootModel
from uuid import UUID
from datetime import date


class Genre(StrEnum):
    FICTION = 'fiction'
    HISTORY = 'history'
    SCIENCE = 'science'
    POETRY = 'poetry'


class Author(BaseModel):
    name: Annotated[str, Field(min_length=1)]
    born: int | None | MISSING = MISSING


class Type(StrEnum):
    PAPER = 'paper'


class Paper(BaseModel):
    type: Literal['paper']
    pages: Annotated[int, Field(ge=1)]


class Type1(StrEnum):
    EBOOK = 'ebook'


class Ebook(BaseModel):
    type: Literal['ebook']
    sizeMb: Annotated[float, Field(ge=0.0)]
    drm: bool | MISSING = MISSING


class Renewal1(BaseModel):
    reason: Annotated[str, Field(min_length=3)]


class Renewal2(BaseModel):
    code: int


class Renewal(RootModel[Renewal1 | Renewal2]):
    root: Renewal1 | Renewal2


class Loan(BaseModel):
    id: UUID
    isbn: str
    due: date
    renewals: Annotated[int | MISSING, Field(ge=0)] = MISSING


class YearItem(RootModel[int]):
    root: Annotated[int, Field(ge=1450)]


class SearchBooksQueryParams(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    q: Annotated[str, Field(min_length=2)]
    genre: Genre | MISSING = MISSING
    year: list[YearItem] | MISSING = MISSING
    available: bool | MISSING = MISSING


class AcceptLanguage(StrEnum):
    EN = 'en'
    FR = 'fr'
    DE = 'de'


class SearchBooksHeaderParams(BaseModel):
    accept_language: Annotated[AcceptLanguage | MISSING, Field(alias='accept-language')] = MISSING


class GetBookPathParams(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    isbn: Annotated[str, Field(pattern='^[0-9]{13}$')]


class FieldModel(StrEnum):
    TITLE = 'title'
    AUTHORS = 'authors'
    MEDIA = 'media'


class GetBookQueryParams(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    fields: list[FieldModel] | MISSING = MISSING


class GetBookResponse404(BaseModel):
    pass


class RenewLoanMatrix(BaseModel):
    days: Annotated[int, Field(ge=1, le=30)]
    express: bool | MISSING = MISSING


class RenewLoanPathParams(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    loanId: UUID
    matrix: RenewLoanMatrix


class RenewLoanCookieParams(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    member: int


class Media(RootModel[Paper | Ebook]):
    root: Annotated[Paper | Ebook, Field(discriminator='type')]


class Book(BaseModel):
    isbn: Annotated[str, Field(pattern='^[0-9]{13}$')]
    title: Annotated[str, Field(max_length=200, min_length=1)]
    genre: Genre | MISSING = MISSING
    authors: Annotated[list[Author], Field(min_length=1)]
    subtitle: str | None | MISSING = MISSING
    media: Media
    published: date | MISSING = MISSING


class SearchBooksResponse200(RootModel[list[Book]]):
    root: list[Book]
