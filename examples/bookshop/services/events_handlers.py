"""EventsHandlers: the handlers of Bookshop events.

Written once by `microlib codegen`; this file is yours, it is never overwritten.
"""

from __future__ import annotations

from examples.bookshop.gen.events import EventsConsumer, models
from microlib.messaging import MessageContext

__all__ = ["EventsHandlers"]


class EventsHandlers(EventsConsumer):
    """Sets aside the books of each placed order (the stock reservation)."""

    def __init__(self) -> None:
        self.reserved: dict[str, int] = {}
        """Copies set aside, by book id."""
        self.orders: list[str] = []
        """The orders reserved, in the order their events arrived."""

    async def reserve_stock(self, payload: models.OrderPlaced, ctx: MessageContext) -> None:
        """Reserve the order's books, once: delivery is at least once, so an event
        delivered again (a crash before its acknowledgement) is recognised by its order."""
        if payload.order_id in self.orders:
            return
        for line in payload.lines:
            self.reserved[line.book_id] = self.reserved.get(line.book_id, 0) + line.quantity
        self.orders.append(payload.order_id)
