"""Render an :class:`~microlib.core.errors.Error` as problem+json (RFC 9457).

The one renderer of every HTTP error microlib answers: :func:`problem_body`
builds the document, and each way out (a Starlette ``Response`` for plain
routes, ASGI messages for generated routes and the edge, a stream's last
frame) sends that document. One table maps each canonical code to its HTTP
status, the same mapping grpc-gateway and Google APIs use, so a client sees
the same status whichever transport it called. Where an OpenAPI document
declares an error response in a JSON schema of its own, the error is written
in that schema instead (:mod:`microlib.http._error_shapes`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from http import HTTPStatus
from typing import Any, Protocol

from starlette.responses import Response

from microlib.core.context import CallContext
from microlib.core.errors import Code, Error, Unimplemented
from microlib.http._content_coding import ACCEPT_ENCODING, UNSUPPORTED_CODING
from microlib.http._responder import Headers, Send, response_headers, send_bytes

__all__ = [
    "HTTP_STATUS",
    "PROBLEM_CONTENT_TYPE",
    "SHAPES_SCOPE_KEY",
    "DeclaredShape",
    "DeclaredShapes",
    "correlation_of",
    "declares_error_schema",
    "invalid_status",
    "is_error_status",
    "is_problem_media",
    "not_allowed",
    "problem_body",
    "problem_response",
    "send_error",
    "send_not_allowed",
    "send_problem",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"

SHAPES_SCOPE_KEY = "microlib.error_shapes"
"""Where an operation that declares error shapes leaves them in its request's ASGI scope: for the
answers made outside its endpoint (the request timeout's 504)."""


class DeclaredShape(Protocol):
    """An error schema a document declares: what :func:`send_problem` writes an error in.

    :class:`microlib.http._error_shapes.ErrorShape` is one. A protocol, so the renderer does not
    import the module that reads those schemas, which imports its status and media rules.
    """

    @property
    def media(self) -> str:
        """The declared media type."""
        ...

    def render(self, error: Error, status: int, message: str, correlation_id: str) -> bytes | None:
        """The body for ``error``, or None when the declared schema refuses it."""
        ...


class DeclaredShapes(Protocol):
    """The error schemas one operation declares, by status (``_error_shapes.ErrorShapes``)."""

    def shape(self, status: int) -> DeclaredShape | None:
        """The schema declared for ``status``, if any."""
        ...


def is_error_status(status: str) -> bool:
    """Whether a documented response status (``404``, ``4XX``, ``default``) answers errors."""
    return status == "default" or status[0] in "45"


def is_problem_media(media: str) -> bool:
    """Whether ``media`` is problem+json (its parameters and case aside): microlib's own format."""
    return media.split(";", 1)[0].strip().lower() == PROBLEM_CONTENT_TYPE


def declares_error_schema(status: str, media: str | None, model: object) -> bool:
    """Whether a documented response declares an error in a JSON schema of its own.

    Only such a response can shape an error (:mod:`microlib.http._error_shapes`); an
    operation whose error responses are all problem+json, or carry no schema, never
    loads that module.

    Args:
        status: The response's status (``404``, ``4XX``, ``default``).
        media: Its media type, if it has content.
        model: The model of its JSON content, if any.
    """
    return is_error_status(status) and model is not None and media is not None and not is_problem_media(media)


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

# Where HTTP has a more precise status than the code's, by the error's reason.
_REASON_STATUS: Mapping[str, int] = {
    "UNSUPPORTED_MEDIA_TYPE": 415,
    UNSUPPORTED_CODING: 415,
    "BODY_TOO_LARGE": 413,
}

# The headers HTTP asks of an answer with that reason (RFC 9110 15.5.16: a 415 for a content
# coding says in Accept-Encoding which it takes).
_REASON_HEADERS: Mapping[str, Headers] = {UNSUPPORTED_CODING: [ACCEPT_ENCODING]}

# Codes whose message may carry internals: the caller sees the status only.
_OPAQUE = frozenset({Code.INTERNAL, Code.UNKNOWN, Code.DATA_LOSS})


def problem_body(error: Error, *, correlation_id: str = "", status: int | None = None) -> dict[str, Any]:
    """The problem+json document for ``error``.

    ``type`` is a stable URN per code; ``violations`` lists each invalid
    field with the rule it broke. ``status`` overrides the code's HTTP
    status where HTTP is more precise (405 for a known path); so do the
    reasons ``UNSUPPORTED_MEDIA_TYPE`` and ``UNSUPPORTED_CONTENT_ENCODING`` (415) and
    ``BODY_TOO_LARGE`` (413).
    """
    status = status or _status(error)
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
    status, payload = _rendered(error, status, correlation_id)
    extra = {name.decode(): value.decode() for name, value in _REASON_HEADERS.get(error.reason, ())}
    return Response(
        payload, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers={**extra, **(headers or {})}
    )


async def send_problem(
    send: Send,
    error: Error,
    status: int | None = None,
    *,
    headers: Headers = (),
    correlation_id: str = "",
    shape: DeclaredShape | None = None,
) -> int:
    """Send ``error`` as problem+json (or in ``shape``) straight to ASGI ``send``.

    Args:
        send: The ASGI send callable.
        error: The error.
        status: Overrides the status mapped from the error's code.
        headers: Extra headers.
        correlation_id: The request id, when known.
        shape: The error response the document declares for it: written in
            that schema and media type when it can be (problem+json otherwise).

    Returns:
        The status sent.
    """
    body = problem_body(error, status=status, correlation_id=correlation_id)
    status = body["status"]
    if error.reason in _REASON_HEADERS:
        headers = [*headers, *_REASON_HEADERS[error.reason]]
    shaped = shape.render(error, status, body["detail"], correlation_id) if shape is not None else None
    if shape is not None and shaped is not None:
        await send_bytes(send, status, shaped, shape.media, headers)
    else:
        await send_bytes(send, status, _encoded(body), PROBLEM_CONTENT_TYPE, headers)
    return status


async def send_not_allowed(
    send: Send, scope: Mapping[str, Any], allowed: Collection[str], *, shape: DeclaredShape | None = None
) -> int:
    """Answer ``405`` to the request of ``scope``, the methods its path answers in ``Allow``
    (which RFC 9110 requires of a 405), sorted.

    Args:
        send: The ASGI send callable.
        scope: The request's ASGI scope.
        allowed: The methods the path answers.
        shape: The error response the document declares for a 405, if any.

    Returns:
        The status sent.
    """
    allow = ", ".join(sorted(allowed)).encode()
    error = not_allowed(scope["method"], scope["path"])
    return await send_problem(send, error, 405, headers=[(b"allow", allow)], shape=shape)


def not_allowed(method: str, path: str) -> Error:
    """The error a 405 carries: ``method`` is not one ``path`` answers."""
    return Unimplemented(f"method {method} is not allowed on {path}")


async def send_error(
    send: Send,
    error: Error,
    ctx: CallContext,
    shapes: DeclaredShapes | None = None,
    *,
    invalid: int = 400,
) -> None:
    """Answer a call of the chain with ``error``: its correlation id and response headers,
    the status recorded as ``http.status_code``; in the shape ``shapes`` declares for its status.
    ``invalid`` is the status of an ``INVALID_ARGUMENT`` (:func:`invalid_status`)."""
    status = _status(error, invalid)
    shape = shapes.shape(status) if shapes else None
    ctx.attributes["http.status_code"] = await send_problem(
        send,
        error,
        status,
        headers=response_headers(ctx),
        correlation_id=correlation_of(ctx),
        shape=shape,
    )


def invalid_status(declared: Collection[str]) -> int:
    """The status an operation answers a request that fails validation with (``INVALID_ARGUMENT``):
    422 where its documented responses (``declared``: ``200``, ``4XX``, ``default``...) name 422 and
    not 400, as GitHub's do ("Validation failed"); 400 otherwise."""
    return 422 if "422" in declared and "400" not in declared else 400


def correlation_of(ctx: CallContext) -> str:
    """The id a caller can quote for the call: the trace's, else the request's."""
    return str(ctx.attributes.get("correlation_id") or ctx.attributes.get("request_id") or "")


def _status(error: Error, invalid: int = 400) -> int:
    precise = _REASON_STATUS.get(error.reason)
    if precise:
        return precise
    return invalid if error.code is Code.INVALID_ARGUMENT else HTTP_STATUS[error.code]


def _encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _rendered(error: Error, status: int | None, correlation_id: str) -> tuple[int, bytes]:
    body = problem_body(error, status=status, correlation_id=correlation_id)
    return body["status"], _encoded(body)


def _title(status: int) -> str:
    if status == 499:
        return "Client Closed Request"
    return HTTPStatus(status).phrase
