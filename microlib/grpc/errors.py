"""microlib errors on the gRPC wire, both ways.

A server renders an :class:`~microlib.core.errors.Error` as a gRPC status
code and message plus a ``google.rpc.Status`` in the ``grpc-status-details-bin``
trailer, carrying an ``ErrorInfo`` (reason, domain, metadata) and a
``BadRequest`` (field violations). A client parses the same trailer back into
the matching ``Error`` subclass, so a ``NotFound`` raised in one service is a
``NotFound`` in its caller.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

from microlib.core.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    Code,
    DataLoss,
    DeadlineExceeded,
    Error,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)

__all__ = ["DETAILS_KEY", "error_from_rpc_error", "error_from_status", "status_for", "trailers_for"]

DETAILS_KEY = "grpc-status-details-bin"
"""The trailing metadata key that carries the serialized ``google.rpc.Status``."""

_ERROR_INFO = error_details_pb2.ErrorInfo.DESCRIPTOR.full_name
_BAD_REQUEST = error_details_pb2.BadRequest.DESCRIPTOR.full_name

_STATUS_CODES: dict[Code, grpc.StatusCode] = {
    code: status for status in grpc.StatusCode for code in Code if status.value[0] == code.value
}
_CODES: dict[int, Code] = {code.value: code for code in Code}
_CLASSES: dict[Code, type[Error]] = {
    cls.code: cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}


def status_for(error: Error) -> status_pb2.Status:
    """The ``google.rpc.Status`` describing ``error``.

    Args:
        error: The error to describe.

    Returns:
        Its code and message, with an ``ErrorInfo`` detail when it has a
        reason, domain or metadata and a ``BadRequest`` detail when it has
        field violations.
    """
    status = status_pb2.Status(code=error.code.value, message=error.message)
    if error.reason or error.domain or error.metadata:
        info = error_details_pb2.ErrorInfo(reason=error.reason, domain=error.domain, metadata=error.metadata)
        status.details.add().Pack(info)
    if error.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description, reason=v.rule
                )
                for v in error.violations
            ]
        )
        status.details.add().Pack(bad)
    return status


def trailers_for(
    error: Error, *, retry_after: int | None = None
) -> tuple[grpc.StatusCode, str, tuple[tuple[str, bytes], ...]]:
    """What a server sends for ``error``.

    Args:
        error: The error.
        retry_after: Seconds after which a retry may succeed, sent as a
            ``google.rpc.RetryInfo`` detail.

    Returns:
        The status code, the status message and the trailing metadata that
        carries the ``google.rpc.Status`` details.
    """
    status = status_for(error)
    if retry_after is not None:
        retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after))
        status.details.add().Pack(retry)
    details = status.SerializeToString()
    return _STATUS_CODES[error.code], error.message, ((DETAILS_KEY, details),)


def error_from_status(code: int, message: str, details: bytes | None = None) -> Error:
    """Rebuild the microlib error a peer sent.

    Args:
        code: The numeric gRPC status code (never 0).
        message: The status message.
        details: The ``grpc-status-details-bin`` trailer, if any. A trailer
            that does not parse, or whose code disagrees with ``code``, is
            ignored rather than trusted.

    Returns:
        The ``Error`` subclass for ``code``, with reason, domain, metadata and
        violations from the details.
    """
    kind = _CODES.get(code, Code.UNKNOWN)
    reason, domain, metadata = "", "", {}
    violations: list[FieldViolation] = []
    for detail in _details(code, details):
        if detail.type_url.endswith("/" + _ERROR_INFO):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.type_url.endswith("/" + _BAD_REQUEST):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations.extend(
                FieldViolation(field=v.field, description=v.description, rule=v.reason)
                for v in bad.field_violations
            )
    return _CLASSES[kind](message, reason=reason, domain=domain, metadata=metadata, violations=violations)


def error_from_rpc_error(exc: grpc.aio.AioRpcError) -> Error:
    """Translate a failed grpc.aio call into the microlib error it carries.

    Args:
        exc: The exception grpc.aio raised.

    Returns:
        The matching ``Error`` subclass with its details.
    """
    details = _trailer(exc.trailing_metadata())
    return error_from_status(exc.code().value[0], exc.details() or "", details)


def _trailer(metadata: Sequence[tuple[str, str | bytes]] | None) -> bytes | None:
    for key, value in metadata or ():
        if key == DETAILS_KEY and isinstance(value, bytes):
            return value
    return None


def _details(code: int, raw: bytes | None) -> Sequence[any_pb2.Any]:
    if not raw:
        return ()
    status = status_pb2.Status()
    try:
        status.ParseFromString(raw)
    except DecodeError:
        return ()
    if status.code != code:
        return ()
    return list(status.details)
