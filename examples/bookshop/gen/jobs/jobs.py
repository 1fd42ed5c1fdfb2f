# Generated from examples/bookshop/contracts/jobs.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 7120ccccfa70879e5b7d7363d8de171ba04352b23420d98bc1d8b38798ec7d0e
"""The jobs of bookshop.jobs 0.1.0: definition, handler Protocol, enqueuer.

Implement ``BookshopJobsHandlers`` (``microlib codegen`` writes a stub once) and pass it to ``service.include``; enqueue through ``BookshopJobsEnqueuer(service.jobs)``.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any, Protocol

from microlib.core.errors import Unimplemented
from microlib.jobs import (
    JOB_RETRY,
    JobContext,
    JobDefinition,
    JobHandle,
    JobsDefinition,
    Schedule,
)

from . import models

__all__ = ["DEFINITION", "BookshopJobsEnqueuer", "BookshopJobsHandlers"]


class BookshopJobsHandlers(Protocol):
    """Handlers of bookshop.jobs: one method per job."""

    async def confirm_order(self, payload: models.ConfirmOrderPayload, ctx: JobContext) -> None:
        """Confirm a placed order to its customer (enqueued by create_order)."""
        raise Unimplemented("job confirm_order is not implemented")

    async def restock_report(self, payload: models.RestockReportPayload, ctx: JobContext) -> None:
        """The nightly report of shelves running low."""
        raise Unimplemented("job restock_report is not implemented")


DEFINITION = JobsDefinition(
    name="bookshop.jobs",
    version="0.1.0",
    handler_protocol=BookshopJobsHandlers,
    source="examples/bookshop/contracts/jobs.yaml",
    jobs={
        "confirm_order": JobDefinition(
            name="confirm_order",
            python_name="confirm_order",
            payload_type=models.ConfirmOrderPayload,
            result_type=None,
            queue="orders",
            retry=replace(JOB_RETRY, initial_backoff=1.0, max_attempts=5, max_backoff=60.0),
            timeout=30.0,
            priority=0,
            schedule=None,
            source="examples/bookshop/contracts/jobs.yaml:8",
            contract="bookshop.jobs",
        ),
        "restock_report": JobDefinition(
            name="restock_report",
            python_name="restock_report",
            payload_type=models.RestockReportPayload,
            result_type=None,
            queue="default",
            retry=replace(JOB_RETRY, initial_backoff=1.0, max_attempts=5, max_backoff=60.0),
            timeout=120.0,
            priority=0,
            schedule=Schedule(
                cron="0 3 * * *",
                timezone="Europe/Paris",
                payload={"min_books_per_shelf": 2},
                source="examples/bookshop/contracts/jobs.yaml:24",
            ),
            source="examples/bookshop/contracts/jobs.yaml:17",
            contract="bookshop.jobs",
        ),
    },
)
BookshopJobsHandlers.__microlib_jobs__ = DEFINITION  # type: ignore[attr-defined]


class BookshopJobsEnqueuer:
    """Typed enqueues of bookshop.jobs's jobs.

    Args:
        jobs: The service's jobs (``service.jobs``).
    """

    def __init__(self, jobs: Any) -> None:
        self._jobs = jobs

    async def confirm_order(
        self,
        payload: models.ConfirmOrderPayload,
        *,
        delay: float | datetime.timedelta | None = None,
        eta: datetime.datetime | None = None,
        idempotency_key: str | None = None,
    ) -> JobHandle[None]:
        """Queue job ``confirm_order`` (queue ``orders``)."""
        handle: JobHandle[None] = await self._jobs.enqueue(
            DEFINITION.jobs["confirm_order"],
            payload,
            delay=delay,
            eta=eta,
            idempotency_key=idempotency_key,
        )
        return handle

    async def restock_report(
        self,
        payload: models.RestockReportPayload,
        *,
        delay: float | datetime.timedelta | None = None,
        eta: datetime.datetime | None = None,
        idempotency_key: str | None = None,
    ) -> JobHandle[None]:
        """Queue job ``restock_report`` (queue ``default``)."""
        handle: JobHandle[None] = await self._jobs.enqueue(
            DEFINITION.jobs["restock_report"],
            payload,
            delay=delay,
            eta=eta,
            idempotency_key=idempotency_key,
        )
        return handle
