"""Render an Error as an ``application/problem+json`` response body.

The standard gRPC-to-HTTP status mapping; violations keep their paths
(``query.limit``, ``body.items[2].sku``). Any other exception is an opaque
500 whose message never reaches the caller.
"""

from __future__ import annotations

import json

from microlib.core.errors import Code, Error

__all__ = ["STATUS", "render_problem"]

STATUS: dict[Code, int] = {
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


def render_problem(error: Error, *, status: int | None = None, correlation_id: str = "") -> tuple[int, bytes]:
    """The HTTP status and problem+json body for ``error``.

    Args:
        error: The error to render.
        status: Overrides the status mapped from the error's code.
        correlation_id: The request id, when known.

    Returns:
        ``(status, body)``.
    """
    code = status or STATUS.get(error.code, 500)
    body: dict[str, object] = {
        "type": "about:blank",
        "title": error.code.name.replace("_", " ").title(),
        "status": code,
        "detail": error.message,
        "code": error.code.name,
    }
    if error.reason:
        body["reason"] = error.reason
    if error.violations:
        body["violations"] = [
            {"field": v.field, "description": v.description, "rule": v.rule} for v in error.violations
        ]
    if correlation_id:
        body["correlation_id"] = correlation_id
    return code, json.dumps(body).encode()
