"""microlib: the OpenAPI-first route with full request validation, through the chain."""

from __future__ import annotations

from bench.http._gen import models, operations
from bench.http._gen.handlers import OrdersApi
from microlib.core.chain import Chain
from microlib.http.openapi import OpenAPIApp, Reply


class Orders(OrdersApi):
    """Echoes the validated order with an id."""

    async def create_order(self, *, body: models.NewOrder) -> models.Order | Reply:
        """Create the order."""
        order = models.Order(id=1, sku=body.sku, quantity=body.quantity)
        return Reply(order, status=201)


app = OpenAPIApp(operations.OPERATIONS, Orders(), chain=Chain(), title=operations.TITLE, docs=False)
