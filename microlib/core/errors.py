"""The transport-neutral error model.

Handlers raise these; each transport renders them once, at its edge
(``microlib.http.errors`` as problem+json, ``microlib.grpc.errors`` as a gRPC
status with ``google.rpc`` details, messaging as a retry or dead-letter
decision). Any other exception is treated as ``INTERNAL`` and its message is
never shown to the caller.

Our exception hierarchy::

    Error(code, message, reason, domain, metadata, violations)
      + Cancelled
      + Unknown
      + InvalidArgument        (field violations)
      + DeadlineExceeded
      + NotFound
      + AlreadyExists
      + PermissionDenied
      + ResourceExhausted
      + FailedPrecondition
      + Aborted
      + OutOfRange
      + Unimplemented
      + Internal
      + Unavailable
      + DataLoss
      + Unauthenticated

    ContractMismatch(TypeError)  not a call's error: an implementation that
                                 does not match its contract, refused while
                                 the service is wired
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "CANCELLED_BY_DEADLINE",
    "CANCELLED_BY_SHUTDOWN",
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "Code",
    "ContractMismatch",
    "DataLoss",
    "DeadlineExceeded",
    "Error",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
]


class Code(enum.IntEnum):
    """The canonical non-OK status codes shared by gRPC and microlib."""

    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One invalid field of a request.

    Args:
        field: Path of the field, dotted for messages (``book.author.name``),
            with ``[i]`` for list items; JSON Pointer style paths are rendered
            by the HTTP edge.
        description: What is wrong, for a human.
        rule: The rule that was broken (``required``, ``string.min_len``...).
    """

    field: str
    description: str
    rule: str = ""


class Error(Exception):
    """An error a caller can act on, with a canonical code.

    Args:
        message: Human-readable text shown to the caller.
        code: Overrides the class's code (mostly for the base class).
        reason: A stable, UPPER_SNAKE machine-readable cause
            (``google.rpc.ErrorInfo.reason``).
        domain: Who defines ``reason`` (``google.rpc.ErrorInfo.domain``).
        metadata: Extra string facts about the cause.
        violations: Invalid request fields (rendered as ``BadRequest``).
    """

    code: Code = Code.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: Code | None = None,
        reason: str = "",
        domain: str = "",
        metadata: Mapping[str, str] | None = None,
        violations: Iterable[FieldViolation] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.reason = reason
        self.domain = domain
        self.metadata: dict[str, str] = dict(metadata or {})
        self.violations: tuple[FieldViolation, ...] = tuple(violations)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.name}, {self.message!r})"


class Cancelled(Error):
    """The operation was cancelled, typically by the caller."""

    code = Code.CANCELLED


class Unknown(Error):
    """An error whose cause is not known."""

    code = Code.UNKNOWN


class InvalidArgument(Error):
    """The request is invalid; ``violations`` names each bad field."""

    code = Code.INVALID_ARGUMENT


class DeadlineExceeded(Error):
    """The deadline expired before the operation could complete."""

    code = Code.DEADLINE_EXCEEDED


class NotFound(Error):
    """A requested entity was not found."""

    code = Code.NOT_FOUND


class AlreadyExists(Error):
    """The entity a caller tried to create already exists."""

    code = Code.ALREADY_EXISTS


class PermissionDenied(Error):
    """The caller is known but not allowed to do this."""

    code = Code.PERMISSION_DENIED


class ResourceExhausted(Error):
    """A quota, rate limit or capacity is exhausted."""

    code = Code.RESOURCE_EXHAUSTED


class FailedPrecondition(Error):
    """The system is not in a state required for the operation."""

    code = Code.FAILED_PRECONDITION


class Aborted(Error):
    """The operation was aborted, typically by a concurrency conflict."""

    code = Code.ABORTED


class OutOfRange(Error):
    """The operation was attempted past the valid range."""

    code = Code.OUT_OF_RANGE


class Unimplemented(Error):
    """The operation is not implemented."""

    code = Code.UNIMPLEMENTED


class Internal(Error):
    """An internal invariant broke; details stay on the server."""

    code = Code.INTERNAL


class Unavailable(Error):
    """The service or a dependency is unavailable; retrying may help."""

    code = Code.UNAVAILABLE


class DataLoss(Error):
    """Unrecoverable data loss or corruption."""

    code = Code.DATA_LOSS


class Unauthenticated(Error):
    """The request has no valid credentials."""

    code = Code.UNAUTHENTICATED


class ContractMismatch(TypeError):
    """An implementation does not match its contract; raised while a service is wired.

    A servicer, consumer or OpenAPI handler object lacks a method of its
    generated interface (or only inherits the interface's placeholder), or
    a method's shape changed. ``microlib run`` prints it as one line naming
    where the service wired it, never as a traceback.
    """


class InvalidContract(ValueError):
    """A contract read while a service is wired is invalid; the message names its file and line.

    A job's cron expression or time zone, for example. ``microlib run``
    prints it as one line, never as a traceback.
    """


CANCELLED_BY_DEADLINE = "microlib: the call's time budget ran out"
"""The message of the cancellation that ends a call past its time budget
(its outcome is ``DEADLINE_EXCEEDED``, not ``CANCELLED``)."""

CANCELLED_BY_SHUTDOWN = "microlib: the drain's budget ran out"
"""The message of the cancellation that ends a call the drain could not wait
for (its outcome is ``UNAVAILABLE``)."""
