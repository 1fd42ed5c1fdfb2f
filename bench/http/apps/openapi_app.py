"""microlib, OpenAPI-first: order.yaml's route with full request validation, in a Service.

Mounted at ``/v1`` (the document's server URL) in the service's HTTP app, so
the request passes the service's edge middleware and default chain as in any
microlib service.
"""

from __future__ import annotations

from bench.http._gen.order import models, operations
from bench.http._gen.order.handlers import OrdersApi
from microlib import Service
from microlib.http.openapi import OpenAPIApp, Reply


class Orders(OrdersApi):
    """Echoes the validated order with an id."""

    async def create_order(self, *, body: models.NewOrder) -> models.Order | Reply:
        """Create the order."""
        order = models.Order(id=1, sku=body.sku, quantity=body.quantity)
        return Reply(order, status=201)


service = Service("bench-openapi")
service.http.mount(
    "/v1",
    OpenAPIApp(operations.OPERATIONS, Orders(), chain=service.chain, title=operations.TITLE, docs=False),
)
