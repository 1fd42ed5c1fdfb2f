"""What generated code tells the runtime about a jobs contract.

``microlib codegen`` emits one :class:`JobsDefinition` per ``jobs.yaml``
(docs/jobs.md): the worker runs its jobs through the service's chain, the
typed enqueuers send through it, the scheduler fires its scheduled jobs and
the startup check compares it with the user's handler class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from microlib.jobs.retry import JOB_RETRY, RetryPolicy

__all__ = ["JobDefinition", "JobsDefinition", "Schedule", "overlap_key"]

_OVERLAPS = ("allow", "skip")


def overlap_key(job: str) -> str:
    """The idempotency key a scheduled run of ``job`` under ``overlap: skip`` holds from its
    enqueue until it ends for good (done or dead-lettered), across replicas."""
    return f"microlib-overlap:{job}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a scheduled job fires: a cron expression in a time zone, or an interval.

    Args:
        cron: Five fields (``0 3 * * *``), or six with seconds first.
        timezone: The IANA zone the cron expression reads in.
        interval: Seconds between ticks; ticks fall on multiples of it
            since the Unix epoch, so every replica computes the same ones.
        payload: The payload each tick enqueues (validated like any other).
        overlap: ``allow``: a tick fires whether or not the run of an earlier
            tick has ended; ``skip``: a tick whose job's earlier run is still
            queued or running enqueues nothing (counted in
            ``job_ticks_skipped_total``).
        source: Where the schedule is declared (``contracts/jobs.yaml:14``),
            named by startup errors.
    """

    cron: str | None = None
    timezone: str = "UTC"
    interval: float | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    overlap: Literal["allow", "skip"] = "allow"
    source: str = ""

    def __post_init__(self) -> None:
        where = self.source or "schedule"
        if (self.cron is None) == (self.interval is None):
            raise ValueError(f"{where}: give exactly one of cron and interval")
        if self.interval is not None and self.interval <= 0:
            raise ValueError(f"{where}: interval must be positive, got {self.interval}")
        if self.overlap not in _OVERLAPS:
            raise ValueError(f"{where}: overlap must be allow or skip, not {self.overlap!r}")


@dataclass(frozen=True, slots=True)
class JobDefinition:
    """One job of a contract.

    Args:
        name: The job's name in the contract (``send_receipt``); the
            ``method`` of its calls, the label of its metrics.
        python_name: The handler method and enqueuer attribute.
        payload_type: The pydantic model of its payload.
        result_type: The type of its result, or None when it declares none.
        queue: The queue it travels on; workers choose queues by name.
        retry: Attempts and backoff.
        timeout: Seconds one attempt may run before it is cancelled; None
            for no limit.
        priority: 0 to 9, higher first where the broker orders by priority.
        schedule: When the scheduler enqueues it by itself, if ever.
        source: Where the job is declared (``contracts/jobs.yaml:8``).
        contract: The name of the contract declaring it.
    """

    name: str
    python_name: str
    payload_type: type[Any]
    result_type: type[Any] | None = None
    queue: str = "default"
    retry: RetryPolicy = JOB_RETRY
    timeout: float | None = None
    priority: int = 0
    schedule: Schedule | None = None
    source: str = ""
    contract: str = ""


@dataclass(frozen=True, slots=True)
class JobsDefinition:
    """A jobs contract as generated code describes it.

    Generated code sets it as ``__microlib_jobs__`` on the handler
    Protocol, which is how ``Service.include(handlers)`` finds it.

    Args:
        name: The contract's name (``bookshop.jobs``): the ``service`` of
            every call, span and metric of its jobs.
        version: The contract's version.
        jobs: Every job, by name, in contract order.
        handler_protocol: The generated Protocol handlers implement.
        source: The contract file, as codegen saw it.
    """

    name: str
    version: str
    jobs: Mapping[str, JobDefinition]
    handler_protocol: type[Any] | None = None
    source: str = ""

    def scheduled(self) -> tuple[JobDefinition, ...]:
        """The jobs with a schedule."""
        return tuple(job for job in self.jobs.values() if job.schedule is not None)
