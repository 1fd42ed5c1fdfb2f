# Generated from examples/bookshop/contracts/orders.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 9df5a8a2d906057d857c0ed7cbbb489dd607b36c155cae90803648afba3ae4a6
"""Typed handler interfaces of Bookshop orders 1.0.0, one Protocol per tag.

Implement them in your own package (``microlib codegen`` writes a stub per
tag once); a method's keyword arguments are the validated parameters and
``body``, and it returns the response model or a ``Reply``.
"""

from __future__ import annotations

from types import ModuleType
from typing import ClassVar, Protocol, cast

from microlib.http.openapi import Reply

from . import models, operations

__all__ = ['OrdersApi']



class OrdersApi(Protocol):
    """Operations tagged ``orders``."""

    # What service.include(...) reads: the document's operations (set below) and this tag.
    __microlib_openapi__: ClassVar[ModuleType] = cast("ModuleType", None)
    __microlib_openapi_tag__: ClassVar[str] = 'orders'

    async def list_orders(
        self,
        *,
        status: models.OrderStatus | None = None,
        limit: int = 20,
    ) -> models.ListOrdersResponse200 | Reply:
        """List orders, newest first"""
        ...

    async def create_order(
        self,
        *,
        body: models.NewOrder,
    ) -> models.Order | Reply:
        """Place an order"""
        ...

    async def get_order(
        self,
        *,
        order_id: str,
    ) -> models.Order | Reply:
        """Read one order"""
        ...

OrdersApi.__microlib_openapi__ = operations
