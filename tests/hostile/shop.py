"""The bookshop's two HTTP doors and its gRPC server, built afresh for each test.

A service is configured once, so a test that changes a limit needs its own.
"""

from __future__ import annotations

from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.events import EventsPublisher
from examples.bookshop.gen.jobs.jobs import BookshopJobsEnqueuer
from examples.bookshop.gen.orders import operations
from examples.bookshop.services.bookshop_service import BookshopServiceServicer
from examples.bookshop.services.orders import Orders
from microlib import Service
from microlib.core._json_depth import MAX_JSON_DEPTH
from microlib.http import OpenAPIApp
from microlib.security import install


def shop(*, max_json_depth: int = MAX_JSON_DEPTH) -> Service:
    """REST transcoding at ``/v1``, the OpenAPI-first orders at ``/api``, gRPC."""
    service = Service("hostile-shop", defaults={"security": {"enabled": False}})
    install(service)
    catalog = Catalog()
    service.include(BookshopServiceServicer(catalog))
    service.http.mount(
        "/api",
        OpenAPIApp(
            operations.OPERATIONS,
            Orders(catalog, BookshopJobsEnqueuer(service.jobs), EventsPublisher(service.publisher)),
            chain=service.chain,
            title=operations.TITLE,
            prefix="/api",
            max_json_depth=max_json_depth,
        ),
    )
    return service
