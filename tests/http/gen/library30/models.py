# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 3f267fb8fbc3fa5b758a444a9acbc6a9876e5ed5295806204610675439a2e85f
"""Models of openapi.yaml."""

from enum import StrEnum
from typing import Annotated, Literal
from pydantic import BaseModel, ConfigDict, Field, MISSING, RootModel
from uuid import UUID
from datetime import date
from microlib.contract.models import GeneratedModel as _GeneratedModel, GeneratedRootModel as _GeneratedRootModel


class Genre(StrEnum):
    FICTION = 'fiction'
    HISTORY = 'history'
    SCIENCE = 'science'
    POETRY = 'poetry'


class Author(_GeneratedModel):
    name: Annotated[str, Field(min_length=1)]
    born: int | None | MISSING = MISSING


class Type(StrEnum):
    PAPER = 'paper'


class Paper(_GeneratedModel):
    type: Literal['paper']
    pages: Annotated[int, Field(ge=1)]


class Type1(StrEnum):
    EBOOK = 'ebook'


class Ebook(_GeneratedModel):
    type: Literal['ebook']
    sizeMb: Annotated[float, Field(ge=0.0)]
    drm: bool | MISSING = MISSING


class Renewal1(_GeneratedModel):
    reason: Annotated[str, Field(min_length=3)]


class Renewal2(_GeneratedModel):
    code: int


class Renewal(_GeneratedRootModel[Renewal1 | Renewal2]):
    root: Renewal1 | Renewal2


class Loan(_GeneratedModel):
    id: UUID
    isbn: str
    due: date
    renewals: Annotated[int | MISSING, Field(ge=0)] = MISSING


class YearItem(_GeneratedRootModel[int]):
    root: Annotated[int, Field(ge=1450)]


class SearchBooksQueryParams(_GeneratedModel):
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


class SearchBooksHeaderParams(_GeneratedModel):
    accept_language: Annotated[AcceptLanguage | MISSING, Field(alias='accept-language')] = MISSING


class GetBookPathParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    isbn: Annotated[str, Field(pattern='^[0-9]{13}$')]


class FieldModel(StrEnum):
    TITLE = 'title'
    AUTHORS = 'authors'
    MEDIA = 'media'


class GetBookQueryParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    fields: list[FieldModel] | MISSING = MISSING


class GetBookResponse404(_GeneratedModel):
    pass


class RenewLoanMatrix(_GeneratedModel):
    days: Annotated[int, Field(ge=1, le=30)]
    express: bool | MISSING = MISSING


class RenewLoanPathParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    loanId: UUID
    matrix: RenewLoanMatrix


class RenewLoanCookieParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    member: int


class Media(_GeneratedRootModel[Paper | Ebook]):
    root: Annotated[Paper | Ebook, Field(discriminator='type')]


class Book(_GeneratedModel):
    isbn: Annotated[str, Field(pattern='^[0-9]{13}$')]
    title: Annotated[str, Field(max_length=200, min_length=1)]
    genre: Genre | MISSING = MISSING
    authors: Annotated[list[Author], Field(min_length=1)]
    subtitle: str | None | MISSING = MISSING
    media: Media
    published: date | MISSING = MISSING


class SearchBooksResponse200(_GeneratedRootModel[list[Book]]):
    root: list[Book]
