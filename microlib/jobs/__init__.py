"""microlib.jobs: background jobs from contracts, and the leader-elected scheduler.

Generated code targets :mod:`microlib.jobs.definition`; handlers get a
:class:`JobContext`; enqueues return a :class:`JobHandle`. The queue is
chosen by the ``jobs`` section's URL: ``memory://`` here, taskiq's brokers
(Redis, RabbitMQ, PostgreSQL) in :mod:`microlib.jobs.taskiq`, which is
imported only when a broker URL asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
    from microlib.config.model import JobsSettings, SchedulerSettings
    from microlib.jobs.clock import Clock, FrozenClock, SystemClock
    from microlib.jobs.definition import JobDefinition, JobsDefinition, Schedule
    from microlib.jobs.envelope import JobEnvelope
    from microlib.jobs.feature import Jobs, open_queue
    from microlib.jobs.handle import JobHandle
    from microlib.jobs.handlers import JobContext, check_handlers
    from microlib.jobs.lease import Claim, Lease, MemoryLease
    from microlib.jobs.memory import MemoryQueue
    from microlib.jobs.queue import DeadLetter, Delivery, JobOutcome, JobQueue
    from microlib.jobs.retry import JOB_RETRY, PERMANENT_CODES, RetryPolicy
    from microlib.jobs.scheduler import Scheduler
    from microlib.jobs.worker import JobWorker

__all__ = [
    "JOB_RETRY",
    "PERMANENT_CODES",
    "Claim",
    "Clock",
    "DeadLetter",
    "Delivery",
    "FrozenClock",
    "JobContext",
    "JobDefinition",
    "JobEnvelope",
    "JobHandle",
    "JobOutcome",
    "JobQueue",
    "JobWorker",
    "Jobs",
    "JobsDefinition",
    "JobsSettings",
    "Lease",
    "MemoryLease",
    "MemoryQueue",
    "RetryPolicy",
    "Schedule",
    "Scheduler",
    "SchedulerSettings",
    "SystemClock",
    "check_handlers",
    "open_queue",
]

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Claim": "microlib.jobs.lease",
        "Clock": "microlib.jobs.clock",
        "DeadLetter": "microlib.jobs.queue",
        "Delivery": "microlib.jobs.queue",
        "FrozenClock": "microlib.jobs.clock",
        "JOB_RETRY": "microlib.jobs.retry",
        "JobContext": "microlib.jobs.handlers",
        "JobDefinition": "microlib.jobs.definition",
        "JobEnvelope": "microlib.jobs.envelope",
        "JobHandle": "microlib.jobs.handle",
        "JobOutcome": "microlib.jobs.queue",
        "JobQueue": "microlib.jobs.queue",
        "JobWorker": "microlib.jobs.worker",
        "Jobs": "microlib.jobs.feature",
        "JobsDefinition": "microlib.jobs.definition",
        "JobsSettings": "microlib.config.model",
        "Lease": "microlib.jobs.lease",
        "MemoryLease": "microlib.jobs.lease",
        "MemoryQueue": "microlib.jobs.memory",
        "PERMANENT_CODES": "microlib.jobs.retry",
        "RetryPolicy": "microlib.jobs.retry",
        "Schedule": "microlib.jobs.definition",
        "Scheduler": "microlib.jobs.scheduler",
        "SchedulerSettings": "microlib.config.model",
        "SystemClock": "microlib.jobs.clock",
        "check_handlers": "microlib.jobs.handlers",
        "open_queue": "microlib.jobs.feature",
    },
)
