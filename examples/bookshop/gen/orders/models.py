# Generated from examples/bookshop/contracts/orders.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 9df5a8a2d906057d857c0ed7cbbb489dd607b36c155cae90803648afba3ae4a6
"""Models of examples/bookshop/contracts/orders.yaml."""

from enum import StrEnum
from typing import Annotated
from pydantic import BaseModel, ConfigDict, Field, MISSING
from microlib.contract.models import GeneratedModel as _GeneratedModel, GeneratedRootModel as _GeneratedRootModel


class OrderStatus(StrEnum):
    PLACED = 'placed'
    SHIPPED = 'shipped'
    CANCELLED = 'cancelled'


class OrderLine(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    book_id: Annotated[str, Field(min_length=1)]
    quantity: Annotated[int, Field(ge=1, le=99)]


class NewOrder(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    customer: Annotated[str, Field(json_schema_extra={'format': 'email'})]
    lines: Annotated[list[OrderLine], Field(min_length=1)]
    note: Annotated[str | None | MISSING, Field(max_length=500)] = MISSING


class Order(_GeneratedModel):
    id: str
    customer: str
    lines: list[OrderLine]
    note: str | None | MISSING = MISSING
    status: OrderStatus


class Problem(_GeneratedModel):
    type: str | MISSING = MISSING
    title: str | MISSING = MISSING
    status: int | MISSING = MISSING
    detail: str | MISSING = MISSING


class ListOrdersQueryParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    status: OrderStatus | MISSING = MISSING
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class ListOrdersResponse200(_GeneratedModel):
    orders: list[Order]


class GetOrderPathParams(_GeneratedModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    orderId: Annotated[str, Field(pattern='^o-[0-9]+$')]
