# Generated from examples/bookshop/contracts/orders.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 9df5a8a2d906057d857c0ed7cbbb489dd607b36c155cae90803648afba3ae4a6
"""Models of examples/bookshop/contracts/orders.yaml."""

from __future__ import annotations
from enum import StrEnum
from typing import Annotated
from pydantic import BaseModel, ConfigDict, Field, MISSING


class OrderStatus(StrEnum):
    PLACED = 'placed'
    SHIPPED = 'shipped'
    CANCELLED = 'cancelled'


class OrderLine(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    book_id: Annotated[str, Field(min_length=1)]
    quantity: Annotated[int, Field(ge=1, le=99)]


class NewOrder(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    customer: Annotated[str, Field(json_schema_extra={'format': 'email'})]
    lines: Annotated[list[OrderLine], Field(min_length=1)]
    note: Annotated[str | None | MISSING, Field(max_length=500)] = MISSING


class Order(BaseModel):
    id: str
    customer: str
    lines: list[OrderLine]
    note: str | None | MISSING = MISSING
    status: OrderStatus


class Problem(BaseModel):
    type: str | MISSING = MISSING
    title: str | MISSING = MISSING
    status: int | MISSING = MISSING
    detail: str | MISSING = MISSING


class ListOrdersQueryParams(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    status: OrderStatus | MISSING = MISSING
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class ListOrdersResponse200(BaseModel):
    orders: list[Order]


class GetOrderPathParams(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
    )
    orderId: Annotated[str, Field(pattern='^o-[0-9]+$')]
