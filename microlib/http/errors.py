"""Render an :class:`~microlib.core.errors.Error` as problem+json (RFC 9457).

One table maps each canonical code to its HTTP status, the same mapping
grpc-gateway and Google APIs use, so a client sees the same status whichever
transport it called.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from microlib.core.errors import Code, Error

__all__ = ["HTTP_STATUS", "PROBLEM_CONTENT_TYPE", "problem_body", "problem_response"]

PROBLEM_CONTENT_TYPE = "application/problem+json"

HTTP_STATUS: Mapping[Code, int] = {
    Code.CANCELLED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}

# Codes whose message may carry internals: the caller sees the status only.
_OPAQUE = frozenset({Code.INTERNAL, Code.UNKNOWN, Code.DATA_LOSS})


def problem_body(error: Error, *, correlation_id: str = "", status: int | None = None) -> dict[str, Any]:
    """The problem+json document for ``error``.

    ``type`` is a stable URN per code; ``violations`` lists each invalid
    field with the rule it broke. ``status`` overrides the code's HTTP
    status where HTTP is more precise (405 for a known path).
    """
    status = status or HTTP_STATUS[error.code]
    body: dict[str, Any] = {
        "type": f"urn:microlib:problem:{error.code.name.lower().replace('_', '-')}",
        "title": _title(status),
        "status": status,
        "code": error.code.name,
        "detail": "internal error" if error.code in _OPAQUE else error.message,
    }
    if error.reason:
        body["reason"] = error.reason
    if error.domain:
        body["domain"] = error.domain
    if error.metadata:
        body["metadata"] = dict(error.metadata)
    if error.violations:
        body["violations"] = [
            {"field": v.field, "description": v.description, **({"rule": v.rule} if v.rule else {})}
            for v in error.violations
        ]
    if correlation_id:
        body["correlation_id"] = correlation_id
    return body


def problem_response(
    error: Error,
    *,
    correlation_id: str = "",
    headers: Mapping[str, str] | None = None,
    status: int | None = None,
) -> Response:
    """A Starlette response carrying :func:`problem_body` and its status."""
    body = problem_body(error, correlation_id=correlation_id, status=status)
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=body["status"],
        media_type=PROBLEM_CONTENT_TYPE,
        headers=dict(headers or {}),
    )


def _title(status: int) -> str:
    if status == 499:
        return "Client Closed Request"
    return HTTPStatus(status).phrase
