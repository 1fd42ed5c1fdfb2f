"""The bookshop example: ``make run`` starts it on embedded defaults.

It serves the proto contract ``bookshop.v1.BookshopService`` and the
OpenAPI-first orders API (``contracts/orders.yaml``, under ``/api``), and
runs the jobs of ``contracts/jobs.yaml``: a confirmation enqueued by each
order, and a nightly restock report. Each order also publishes an
``OrderPlaced`` event (``contracts/events.yaml``), which the stock
reservation consumes: on the embedded broker by default, on RabbitMQ with
``-c examples/bookshop/rabbitmq.yaml``; ``GET /reservations`` shows it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request

from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.events import EventsPublisher
from examples.bookshop.gen.jobs.jobs import BookshopJobsEnqueuer
from examples.bookshop.services.bookshop_jobs import BookshopJobs
from examples.bookshop.services.bookshop_service import BookshopServiceServicer
from examples.bookshop.services.events_handlers import EventsHandlers
from examples.bookshop.services.orders import Orders
from microlib import Service
from microlib.security import install


class ShopSettings(BaseModel):
    """The example's own configuration section, under the ``shop`` key."""

    greeting: str = "Welcome to the bookshop"
    max_page_size: int = Field(default=50, ge=1, le=500)


def create_service() -> Service:
    """The bookshop, wired: a new one on each call, so each test starts its own
    (microlib's pytest plugin calls it); ``microlib run`` serves :data:`service`."""
    # Authentication is off until configuration turns it on: `-c examples/bookshop/auth.yaml`
    # trusts a development issuer and sets the access rules (see that file and the README).
    service = Service(
        "bookshop",
        version="0.1.0",
        sections={"shop": ShopSettings},
        # The proto API's REST bindings are served at /v1/...; the OpenAPI 3.1
        # document generated from it and its Swagger UI under /rest.
        defaults={"security": {"enabled": False}, "transcoding": {"docs_prefix": "/rest"}},
    )
    install(service)
    catalog = Catalog()
    service.add(catalog)
    service.include(BookshopServiceServicer(catalog))
    service.include(BookshopJobs(catalog))
    stock = EventsHandlers()
    service.include(stock)
    events = EventsPublisher(service.publisher)

    # The OpenAPI-first orders API, at the prefix its document's server gives (/api),
    # with its document and Swagger UI (/api/docs).
    service.include(Orders(catalog, BookshopJobsEnqueuer(service.jobs), events))

    @service.http.route("/")
    async def index(request: Request) -> dict[str, Any]:
        return {"message": service.section("shop", ShopSettings).greeting, "service": service.info.name}

    @service.http.route("/reservations")
    async def reservations(request: Request) -> dict[str, Any]:
        return {"orders": stock.orders, "reserved": stock.reserved}

    return service


service = create_service()
