"""What an enqueue returns: the job's id, and its result once it has one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from microlib.core.errors import Code, Error
from microlib.jobs.definition import JobDefinition
from microlib.jobs.queue import JobQueue

__all__ = ["JobHandle"]

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class JobHandle(Generic[R]):
    """A queued job.

    Args:
        id: The job's id.
        queued: False when an earlier job with the same idempotency key is
            still remembered; ``id`` is then that job's.
        job: The job's definition.
    """

    id: str
    queued: bool
    job: JobDefinition
    _queue: JobQueue

    async def result(self, timeout: float = 30.0) -> R:
        """Wait for the job's result.

        Raises:
            TypeError: the job declares no result.
            TimeoutError: the job did not end within ``timeout`` seconds.
            microlib.core.errors.Error: the job failed for good, with its code.
        """
        if self.job.result_type is None:
            raise TypeError(f"job {self.job.name} declares no result")
        outcome = await self._queue.outcome(self.id, timeout)
        if not outcome.ok:
            raise Error(f"job {self.job.name} failed: {outcome.message}", code=Code[outcome.code])
        adapter: TypeAdapter[Any] = TypeAdapter(self.job.result_type)
        value: R = adapter.validate_python(outcome.value)
        return value
