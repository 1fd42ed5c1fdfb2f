# Generated from examples/petstore/contracts/petstore.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: fdc4529a543b23880a72f1b739441f9c911948c8f50b7c93986fc68ec09085d5
"""Models of examples/petstore/contracts/petstore.yaml."""

from enum import StrEnum
from typing import Annotated
from pydantic import BaseModel, ConfigDict, Field, MISSING, RootModel
from microlib.contract.models import GeneratedModel as _GeneratedModel, GeneratedRootModel as _GeneratedRootModel


class PetStatus(StrEnum):
    AVAILABLE = 'available'
    PENDING = 'pending'
    SOLD = 'sold'


class Category(StrEnum):
    DOG = 'dog'
    CAT = 'cat'
    BIRD = 'bird'
    FISH = 'fish'


class Tag(_GeneratedRootModel[str]):
    root: Annotated[str, Field(max_length=32, min_length=1)]


class NewPet(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    name: Annotated[str, Field(max_length=64, min_length=1)]
    category: Category
    tags: Annotated[list[Tag] | MISSING, Field(max_length=10)] = MISSING


class Pet(_GeneratedModel):
    id: Annotated[int, Field(ge=-9223372036854775808, le=9223372036854775807)]
    name: str
    category: Category
    tags: list[str] | MISSING = MISSING
    status: PetStatus


class PetPage(_GeneratedModel):
    items: list[Pet]


class NewOrder(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    petId: Annotated[int, Field(ge=1, le=9223372036854775807)]


class Status(StrEnum):
    PLACED = 'placed'
    DELIVERED = 'delivered'


class Order(_GeneratedModel):
    id: Annotated[int, Field(ge=-9223372036854775808, le=9223372036854775807)]
    petId: Annotated[int, Field(ge=-9223372036854775808, le=9223372036854775807)]
    status: Status


class Problem(_GeneratedModel):
    type: str | MISSING = MISSING
    title: str | MISSING = MISSING
    status: int | MISSING = MISSING
    code: str | MISSING = MISSING
    detail: str | MISSING = MISSING


class ListPetsQueryParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    status: PetStatus | MISSING = MISSING
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class GetPetPathParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    petId: Annotated[int, Field(ge=1, le=9223372036854775807)]


class DeletePetPathParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    petId: Annotated[int, Field(ge=1, le=9223372036854775807)]


class GetInventoryResponse200(_GeneratedRootModel[dict[str, int]]):
    root: dict[str, int]


class GetOrderPathParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    orderId: Annotated[int, Field(ge=1, le=9223372036854775807)]
