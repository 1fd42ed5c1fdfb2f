"""Control-flow signals a handler raises to settle its message (they are not errors).

Returning from a handler acknowledges the message; raising an ``Error`` or
any exception fails the attempt (retried, or dead-lettered when the error
is a poison one). :class:`Reject` says the message itself is unprocessable:
it goes to the dead-letter destination at once, without further attempts.
Like structlog's ``DropEvent`` it derives from ``BaseException``, so the
chain's recovery does not mistake it for a crash.
"""

from __future__ import annotations

from microlib.core.errors import Code

__all__ = ["Reject"]


class Reject(BaseException):
    """Dead-letter this message now: no attempt will ever succeed.

    Logs, metrics and spans report the call with ``code`` (by default
    ``INVALID_ARGUMENT``: the message is at fault, not the service).

    Args:
        reason: Why, for a human; travels in the dead letter's headers.
        code: The outcome code reported for the call.
    """

    def __init__(self, reason: str, *, code: Code = Code.INVALID_ARGUMENT) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
