"""FastAPI with an equivalent pydantic model."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field


class NewOrder(BaseModel):
    """The request body."""

    model_config = ConfigDict(extra="forbid")
    sku: Annotated[str, Field(pattern=r"^[A-Z]{3}-[0-9]{4}$")]
    quantity: Annotated[int, Field(ge=1, le=99)]
    note: Annotated[str | None, Field(max_length=200)] = None


class Order(BaseModel):
    """The response body."""

    id: int
    sku: str
    quantity: int


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.post("/v1/orders", status_code=201)
async def create_order(body: NewOrder) -> Order:
    """Create the order."""
    return Order(id=1, sku=body.sku, quantity=body.quantity)
