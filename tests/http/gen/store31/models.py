# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 49917a4b923a92efbfb2f159e6804d61d8240c6659e3208ab6db1e9912856f70
"""Models of openapi.yaml."""

from enum import StrEnum
from typing import Annotated, Literal
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, MISSING, RootModel
from typing_extensions import TypeAliasType
from uuid import UUID
from microlib.contract.models import GeneratedModel as _GeneratedModel, GeneratedRootModel as _GeneratedRootModel


class PetKind(StrEnum):
    CAT = 'cat'
    DOG = 'dog'
    BIRD = 'bird'


class Cat(_GeneratedModel):
    kind: Literal['cat']
    name: Annotated[str, Field(max_length=40, min_length=1)]
    indoor: bool


class Dog(_GeneratedModel):
    kind: Literal['dog']
    name: Annotated[str, Field(max_length=40, min_length=1)]
    barks: Annotated[int | MISSING, Field(ge=0, le=10)] = MISSING


class Bird(_GeneratedModel):
    kind: Literal['bird']
    name: Annotated[str, Field(max_length=40, min_length=1)]
    wingspan: Annotated[float | MISSING, Field(gt=0.0)] = MISSING


class OrderStatus(StrEnum):
    PLACED = 'placed'
    APPROVED = 'approved'
    DELIVERED = 'delivered'


class OrderItem(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    sku: Annotated[str, Field(pattern='^[A-Z]{3}-[0-9]{4}$')]
    quantity: Annotated[int, Field(ge=1, le=99)]
    giftWrap: bool = False


class Violation(_GeneratedModel):
    field: str | MISSING = MISSING
    description: str | MISSING = MISSING
    rule: str | MISSING = MISSING


class Problem(_GeneratedModel):
    type: str | MISSING = MISSING
    title: str
    status: int
    detail: str | MISSING = MISSING
    code: str | MISSING = MISSING
    reason: str | MISSING = MISSING
    violations: list[Violation] | MISSING = MISSING


class ListPetsFilter(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    minAge: Annotated[int | MISSING, Field(ge=0)] = MISSING
    name: str | MISSING = MISSING


class Tag(_GeneratedRootModel[str]):
    root: Annotated[str, Field(min_length=1)]


class ListPetsQueryParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    kind: list[PetKind] | MISSING = MISSING
    tags: Annotated[list[Tag] | MISSING, Field(max_length=5)] = MISSING
    filter: ListPetsFilter | MISSING = MISSING


class ListPetsHeaderParams(_GeneratedModel):
    x_request_tag: Annotated[str | MISSING, Field(alias='x-request-tag', pattern='^[a-z]{1,8}$')] = MISSING


class ListPetsCookieParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    session: str | MISSING = MISSING


class GetPetPathParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    petId: Annotated[int, Field(ge=1)]


class DeletePetPathParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    petId: Annotated[int, Field(ge=1)]


class DeletePetHeaderParams(_GeneratedModel):
    x_reasons: Annotated[list[str] | MISSING, Field(alias='x-reasons')] = MISSING


class Size(StrEnum):
    SMALL = 'small'
    LARGE = 'large'


class GetPetPhotoPathParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    petId: int
    size: Size


class GetPetPhotoQueryParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    crop: Annotated[list[int] | MISSING, Field(max_length=4, min_length=4)] = MISSING


class GetInventoryQueryParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    skus: list[str] | MISSING = MISSING



GetInventoryResponse200AdditionalProperty = TypeAliasType("GetInventoryResponse200AdditionalProperty", Annotated[int, Field(ge=0)])


class GetInventoryResponse200(_GeneratedRootModel[dict[str, GetInventoryResponse200AdditionalProperty]]):
    root: dict[str, GetInventoryResponse200AdditionalProperty]


class NewPet(_GeneratedRootModel[Cat | Dog | Bird]):
    root: Annotated[Cat | Dog | Bird, Field(discriminator='kind')]


class Pet(_GeneratedModel):
    id: Annotated[int, Field(ge=1)]
    pet: NewPet
    createdAt: AwareDatetime
    nickname: Annotated[str | None | MISSING, Field(max_length=20)] = MISSING


class Order(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    id: UUID | MISSING = MISSING
    status: OrderStatus | MISSING = MISSING
    items: Annotated[list[OrderItem], Field(max_length=20, min_length=1)]
    note: Annotated[str | None | MISSING, Field(max_length=200)] = MISSING


class PetPage(_GeneratedModel):
    items: list[Pet]
    next: str | None
    """
    The cursor of the next page, null on the last.
    """
