# Generated from examples/bookshop/contracts/orders.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: bdee3aec05eaf98e1d3b948e96a0a99e5e98c28b35ec001cc2dcf9dbd2f3e491
"""Typed handler interfaces of Bookshop orders 1.0.0, one Protocol per tag.

Implement them in your own package (``microlib codegen`` writes a stub per
tag once); a method's keyword arguments are the validated parameters and
``body``, and it returns the response model or a ``Reply``.
"""

from __future__ import annotations

from typing import Protocol

from microlib.http.openapi import Reply

from . import models

__all__ = ['OrdersApi']



class OrdersApi(Protocol):
    """Operations tagged ``orders``."""

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

