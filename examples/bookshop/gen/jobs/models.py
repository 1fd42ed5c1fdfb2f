# Generated from examples/bookshop/contracts/jobs.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 7120ccccfa70879e5b7d7363d8de171ba04352b23420d98bc1d8b38798ec7d0e
"""Models of examples/bookshop/contracts/jobs.yaml."""

from pydantic import BaseModel, Field
from typing import Annotated
from microlib.contract.models import (
    GeneratedModel as _GeneratedModel,
    GeneratedRootModel as _GeneratedRootModel,
)


class ConfirmOrderPayload(_GeneratedModel):
    order_id: str
    customer: str


class RestockReportPayload(_GeneratedModel):
    min_books_per_shelf: Annotated[int, Field(ge=1)] = 2
