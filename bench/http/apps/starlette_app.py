"""Bare Starlette: parse the JSON and answer, no validation (the ceiling)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def create_order(request: Request) -> JSONResponse:
    """Create the order."""
    body = await request.json()
    return JSONResponse({"id": 1, "sku": body["sku"], "quantity": body["quantity"]}, status_code=201)


app = Starlette(routes=[Route("/v1/orders", create_order, methods=["POST"])])
