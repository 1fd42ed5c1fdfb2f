"""Handlers of the bookshop.jobs jobs.

Written once by ``microlib codegen``; this file is yours, it is never overwritten.
"""

from __future__ import annotations

import structlog

from examples.bookshop.catalog import Catalog
from examples.bookshop.gen.jobs import models
from examples.bookshop.gen.jobs.jobs import BookshopJobsHandlers
from microlib.jobs import JobContext

log = structlog.get_logger("bookshop.jobs")


class BookshopJobs(BookshopJobsHandlers):
    """Runs the bookshop.jobs jobs: order confirmations and the nightly restock report."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.confirmed: list[str] = []
        self.reports: list[dict[str, int]] = []

    async def confirm_order(self, payload: models.ConfirmOrderPayload, ctx: JobContext) -> None:
        # A real shop would send an e-mail; retried jobs keep ctx.id, so it could dedupe by it.
        self.confirmed.append(payload.order_id)
        # The principal of the call that enqueued it (with security installed), for the audit trail.
        principal = ctx.call.principal
        log.info(
            "order confirmed",
            order_id=payload.order_id,
            customer=payload.customer,
            job_id=ctx.id,
            placed_by=principal.subject if principal is not None else None,
        )

    async def restock_report(self, payload: models.RestockReportPayload, ctx: JobContext) -> None:
        shelves: dict[str, int] = {}
        for book in self.catalog.books.values():
            shelves[book.shelf] = shelves.get(book.shelf, 0) + 1
        low = {shelf: n for shelf, n in sorted(shelves.items()) if n < payload.min_books_per_shelf}
        self.reports.append(low)
        log.info("restock report", low_shelves=low, tick=ctx.tick)
