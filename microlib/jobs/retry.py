"""How a failed job is tried again: the shared :class:`RetryPolicy`, with jobs' defaults
and the outcomes no attempt can change."""

from __future__ import annotations

from microlib.core.errors import Code
from microlib.core.retry import RetryPolicy

__all__ = ["JOB_RETRY", "PERMANENT_CODES", "RetryPolicy", "retries"]

PERMANENT_CODES = frozenset(
    {
        Code.INVALID_ARGUMENT,
        Code.NOT_FOUND,
        Code.ALREADY_EXISTS,
        Code.PERMISSION_DENIED,
        Code.UNAUTHENTICATED,
        Code.FAILED_PRECONDITION,
        Code.OUT_OF_RANGE,
        Code.UNIMPLEMENTED,
    }
)
"""Outcomes that another attempt cannot change: the job goes to the
dead-letter queue at once. Crashes (``INTERNAL``), timeouts
(``DEADLINE_EXCEEDED``), ``UNAVAILABLE`` and the rest are retried."""


JOB_RETRY = RetryPolicy(max_attempts=3, initial_backoff=1.0, max_backoff=300.0, multiplier=2.0, jitter=0.2)
"""A job's policy where its contract sets none (the contract's keys replace these)."""


def retries(policy: RetryPolicy, attempt: int, code: Code) -> bool:
    """Whether a failure of attempt ``attempt`` with ``code`` is tried again."""
    return attempt < policy.max_attempts and code not in PERMANENT_CODES
