"""microlib, transcoded: the order POST as the RPC ``benchorders.v1.OrderService/CreateOrder``.

``protos/benchorders/v1/orders.proto`` binds it to ``POST /v1/orders`` with
``body: "*"``; the service serves it over REST because the servicer is
included, through the service's edge middleware and default chain.
"""

from __future__ import annotations

from bench.http._gen.benchorders.v1 import CreateOrderRequest, Order, OrderService
from microlib import Service
from microlib.core.context import CallContext


class Orders(OrderService):
    """Echoes the validated order with an id."""

    async def create_order(self, request: CreateOrderRequest, ctx: CallContext) -> Order:
        """Create the order."""
        return Order(id=1, sku=request.sku, quantity=request.quantity)


service = Service("bench-transcoded")
service.include(Orders())
