"""The bookshop example: ``make run`` starts it on embedded defaults.

It serves the proto contract ``bookshop.v1.BookshopService`` and the
OpenAPI-first orders API (``contracts/orders.yaml``, under ``/api``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request

from examples.bookshop import gen
from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.orders import operations
from examples.bookshop.services.bookshop_service import BookshopServiceServicer
from examples.bookshop.services.orders import Orders
from microlib import Service
from microlib.http import DocsApp, OpenAPIApp


class ShopSettings(BaseModel):
    """The example's own configuration section, under the ``shop`` key."""

    greeting: str = "Welcome to the bookshop"
    max_page_size: int = Field(default=50, ge=1, le=500)


service = Service("bookshop", version="0.1.0", sections={"shop": ShopSettings})
catalog = Catalog()
service.add(catalog)
service.include(BookshopServiceServicer(catalog))

# The proto API's REST bindings are served at /v1/...; its generated
# OpenAPI 3.1 document and Swagger UI under /rest.
service.http.mount(
    "/rest",
    DocsApp(Path(gen.__file__).with_name("openapi.json"), title="Bookshop (proto)", prefix="/rest"),
)
service.http.mount(
    "/api",
    OpenAPIApp(
        operations.OPERATIONS,
        Orders(catalog),
        chain=service.chain,
        title=operations.TITLE,
        spec_path=operations.SPEC_PATH,
        prefix="/api",
    ),
)


@service.http.route("/")
async def index(request: Request) -> dict[str, Any]:
    return {"message": service.section("shop", ShopSettings).greeting, "service": service.info.name}
