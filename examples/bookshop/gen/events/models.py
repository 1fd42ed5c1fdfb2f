# Generated from examples/bookshop/contracts/events.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 4f170d7ed9d72d33a86f70927867af4d2a9665db830fe80bb74f804006b5c90b
"""Models of examples/bookshop/contracts/events.yaml."""

from typing import Annotated
from pydantic import BaseModel, Field
from microlib.contract.models import GeneratedModel as _GeneratedModel, GeneratedRootModel as _GeneratedRootModel


class Line(_GeneratedModel):
    book_id: str
    quantity: Annotated[int, Field(ge=1)]


class OrderPlaced(_GeneratedModel):
    order_id: str
    customer: str
    lines: Annotated[list[Line], Field(min_length=1)]
