"""The ``JobQueue`` protocol: where jobs wait, run from, fail to and report to.

Two implementations: :class:`~microlib.jobs.memory.MemoryQueue` (embedded,
one process) and :class:`~microlib.jobs.taskiq.TaskiqQueue` (Redis,
RabbitMQ or PostgreSQL through taskiq's brokers). The worker, the
scheduler and the enqueuers see only this protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from microlib.jobs.envelope import JobEnvelope

__all__ = ["DeadLetter", "Delivery", "JobOutcome", "JobQueue"]


class Delivery(Protocol):
    """One job handed to a worker; settled exactly once."""

    envelope: JobEnvelope

    async def ack(self) -> None:
        """The job is done with (succeeded, retried or dead-lettered)."""
        ...

    async def requeue(self) -> None:
        """Give the job back unrun, same attempt, for any worker to take."""
        ...

    def abandon(self) -> None:
        """Stop holding the job, settled or not (its run ended).

        A job not settled is handed out again as if its worker had died
        (Redis, PostgreSQL: after ``jobs.redelivery_timeout``).
        """
        ...


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that failed for good.

    Args:
        envelope: The job as it last ran.
        code: The outcome's code name (``INTERNAL``, ``DEADLINE_EXCEEDED``).
        error: What went wrong, as logged.
        failed_at: Unix time of the last failure.
    """

    envelope: JobEnvelope
    code: str
    error: str
    failed_at: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form, for stores and ``microlib jobs dlq show``."""
        return {
            "message": self.envelope.encode().decode(),
            "code": self.code,
            "error": self.error,
            "failed_at": self.failed_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeadLetter:
        """Read :meth:`to_json`'s form."""
        return cls(
            envelope=JobEnvelope.decode(data["message"]),
            code=str(data["code"]),
            error=str(data["error"]),
            failed_at=float(data["failed_at"]),
        )


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a job that declares a result ended.

    Args:
        ok: It succeeded.
        value: Its result, JSON-ready, when it succeeded.
        code: The failure's code name, when it failed for good.
        message: The failure's message.
    """

    ok: bool
    value: Any = None
    code: str = ""
    message: str = ""


class JobQueue(Protocol):
    """Queues, the dead-letter queue, results and idempotency keys of a service's jobs.

    It is also the ``jobs-queue`` component: ``start`` connects, ``stop``
    disconnects.
    """

    name: str

    async def start(self) -> None:
        """Connect and declare what the backend needs."""
        ...

    async def stop(self) -> None:
        """Disconnect."""
        ...

    async def check(self) -> Mapping[str, Any] | None:
        """Raise when the backend is unreachable."""
        ...

    async def enqueue(self, envelope: JobEnvelope, *, not_before: float | None = None) -> str:
        """Queue ``envelope``, to run no earlier than ``not_before`` (Unix time).

        Returns:
            The id of the queued job: ``envelope.id``, or, for a first
            attempt, the id of the job already queued under the same
            idempotency key (then nothing is queued). A key whose job the
            broker did not take is forgotten again.
        """
        ...

    async def forget_key(self, key: str, job_id: str) -> None:
        """Forget idempotency key ``key`` if job ``job_id`` holds it (a later
        holder's stays): the next enqueue under it queues."""
        ...

    async def key_holder(self, key: str) -> tuple[str, float] | None:
        """The id of the job holding idempotency key ``key`` and when it took it (Unix
        time, read from the key's expiry and ``jobs.idempotency_ttl``); None when free."""
        ...

    def deliveries(
        self, queues: Sequence[str], *, listening: Callable[[], None] | None = None
    ) -> AsyncIterator[Delivery]:
        """The jobs of ``queues`` as they become due, for one worker; ``listening`` is called
        once the backend listens to them (connected), before the first job comes."""
        ...

    async def bury(self, letter: DeadLetter) -> None:
        """Put a job that failed for good into the dead-letter queue."""
        ...

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The dead letters, oldest first."""
        ...

    async def dead_letter(self, job_id: str) -> DeadLetter | None:
        """The dead letter of job ``job_id``, if there is one."""
        ...

    async def replay(self, job_id: str) -> bool:
        """Queue a dead letter again as attempt 1; False when there is none."""
        ...

    async def purge(self) -> int:
        """Drop every dead letter; returns how many there were."""
        ...

    async def dead_letter_count(self) -> int:
        """How many dead letters wait (the ``job_dead_letters`` gauge)."""
        ...

    async def set_outcome(self, job_id: str, outcome: JobOutcome, ttl: float) -> None:
        """Keep a job's outcome for ``ttl`` seconds."""
        ...

    async def outcome(self, job_id: str, timeout: float) -> JobOutcome:
        """Wait up to ``timeout`` seconds for a job's outcome.

        Raises:
            TimeoutError: it did not end in time.
        """
        ...
