# Generated from examples/bookshop/contracts/events.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 4f170d7ed9d72d33a86f70927867af4d2a9665db830fe80bb74f804006b5c90b
"""Models of examples/bookshop/contracts/events.yaml."""

from __future__ import annotations
from typing import Annotated
from pydantic import BaseModel, Field


class Line(BaseModel):
    book_id: str
    quantity: Annotated[int, Field(ge=1)]


class OrderPlaced(BaseModel):
    order_id: str
    customer: str
    lines: Annotated[list[Line], Field(min_length=1)]
