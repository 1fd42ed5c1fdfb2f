"""What a failed attempt leads to: another attempt after a backoff, or the dead letters.

An error is *poison* when trying again cannot help: the message is invalid
(``INVALID_ARGUMENT``, ``OUT_OF_RANGE``), nobody may process it
(``UNAUTHENTICATED``, ``PERMISSION_DENIED``), nothing handles it
(``UNIMPLEMENTED``), or the handler raised :class:`~microlib.messaging.Reject`.
A poison message is dead-lettered at once; any other failure is tried
again, with exponential backoff and jitter, until the policy's attempts are
spent.
"""

from __future__ import annotations

from microlib.config.model import MessagingRetrySettings
from microlib.core.errors import Code, Error
from microlib.messaging.acks import Reject
from microlib.messaging.definition import RetryPolicy

__all__ = ["POISON_CODES", "is_poison", "policy_from_settings"]

POISON_CODES = frozenset(
    {
        Code.INVALID_ARGUMENT,
        Code.OUT_OF_RANGE,
        Code.UNAUTHENTICATED,
        Code.PERMISSION_DENIED,
        Code.UNIMPLEMENTED,
    }
)
"""Codes whose messages go to the dead letters without another attempt."""


def is_poison(failure: BaseException) -> bool:
    """Whether another attempt at the message cannot succeed."""
    if isinstance(failure, Reject):
        return True
    return isinstance(failure, Error) and failure.code in POISON_CODES


def policy_from_settings(settings: MessagingRetrySettings) -> RetryPolicy:
    """The policy a ``retry`` settings block describes."""
    return RetryPolicy(
        max_attempts=settings.max_attempts,
        initial_backoff=settings.initial_backoff,
        max_backoff=settings.max_backoff,
        multiplier=settings.multiplier,
        jitter=settings.jitter,
    )
