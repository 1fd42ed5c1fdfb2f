"""Handlers of the ``orders`` operations of Bookshop orders.

Written once by ``microlib codegen``; this file is yours to edit.
"""

from __future__ import annotations

import itertools

from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.events import EventsPublisher
from examples.bookshop.gen.events import models as event_models
from examples.bookshop.gen.jobs import models as job_models
from examples.bookshop.gen.jobs.jobs import BookshopJobsEnqueuer
from examples.bookshop.gen.orders import models
from examples.bookshop.gen.orders.handlers import OrdersApi
from microlib.core.errors import FieldViolation, NotFound
from microlib.http.openapi import Reply


class Orders(OrdersApi):
    """Implements the ``orders`` operations over an in-memory order book."""

    def __init__(self, catalog: Catalog, jobs: BookshopJobsEnqueuer, events: EventsPublisher) -> None:
        self.catalog = catalog
        self.jobs = jobs
        self.events = events
        self.orders: dict[str, models.Order] = {}
        self._ids = itertools.count(1)

    async def list_orders(
        self,
        *,
        status: models.OrderStatus | None = None,
        limit: int = 20,
    ) -> models.ListOrdersResponse200 | Reply:
        """List orders, newest first"""
        newest = sorted(self.orders.values(), key=lambda o: int(o.id[2:]), reverse=True)
        matching = [o for o in newest if status is None or o.status == status]
        return models.ListOrdersResponse200(orders=matching[:limit])

    async def create_order(
        self,
        *,
        body: models.NewOrder,
    ) -> models.Order | Reply:
        """Place an order"""
        unknown = [
            FieldViolation(f"body.lines[{i}].book_id", f"no book {line.book_id!r} in the catalog", "exists")
            for i, line in enumerate(body.lines)
            if line.book_id not in self.catalog.books
        ]
        if unknown:
            # A valid order naming a book the catalog lacks: a 404, as the contract says.
            raise NotFound(
                "the order names books the shop does not sell", reason="BOOK_NOT_FOUND", violations=unknown
            )
        order = models.Order(
            id=f"o-{next(self._ids)}",
            customer=body.customer,
            lines=body.lines,
            note=body.note,
            status=models.OrderStatus.PLACED,
        )
        self.orders[order.id] = order
        # Confirmed in the background; the key makes a retried request enqueue it once.
        await self.jobs.confirm_order(
            job_models.ConfirmOrderPayload(order_id=order.id, customer=body.customer),
            idempotency_key=f"confirm-{order.id}",
        )
        # Announced to whoever listens (the stock reservation, in this service).
        await self.events.publish_order_placed(
            event_models.OrderPlaced(
                order_id=order.id,
                customer=body.customer,
                lines=[
                    event_models.Line(book_id=line.book_id, quantity=line.quantity) for line in body.lines
                ],
            ),
            message_id=f"placed-{order.id}",
        )
        return Reply(order, status=201, headers={"location": f"/api/orders/{order.id}"})

    async def get_order(
        self,
        *,
        order_id: str,
    ) -> models.Order | Reply:
        """Read one order"""
        try:
            return self.orders[order_id]
        except KeyError:
            raise NotFound(f"order {order_id!r} does not exist", reason="ORDER_NOT_FOUND") from None
