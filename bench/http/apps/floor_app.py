"""The floor: bare Starlette, the body validated, and the least telemetry.

A yardstick, not microlib: the ``starlette`` app with the FastAPI app's
pydantic model checking the body and, around it, ``FloorTelemetry``
configured as ``microlib.yaml`` configures microlib (metrics; a sampled span
per request, dropped by exporter ``none``; no access line at level warning).
``app_with_access_log`` is the same at level info: the access line written
to standard output, one write per loop turn.
A ratio to bare Starlette it cannot reach is out of reach of any
implementation of those duties on Starlette we know of.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.http.apps.fastapi_app import NewOrder
from bench.observability.floor import FloorTelemetry


async def create_order(request: Request) -> JSONResponse:
    """Create the order."""
    try:
        body = NewOrder.model_validate_json(await request.body())
    except ValidationError as exc:
        return JSONResponse({"errors": exc.errors(include_url=False)}, status_code=422)
    return JSONResponse({"id": 1, "sku": body.sku, "quantity": body.quantity}, status_code=201)


app = FloorTelemetry(
    Starlette(routes=[Route("/v1/orders", create_order, methods=["POST"])]), None, access_log=False
)
app_with_access_log = FloorTelemetry(
    Starlette(routes=[Route("/v1/orders", create_order, methods=["POST"])]), None, access_log=True
)
