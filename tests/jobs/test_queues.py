"""The shared job cases on every queue implementation."""

from __future__ import annotations

from tests.jobs.cases import JobQueueCases


class TestQueues(JobQueueCases):
    """memory, Redis (streams), RabbitMQ (aio-pika) and PostgreSQL (asyncpg)."""
