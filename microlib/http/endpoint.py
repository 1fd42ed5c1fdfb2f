"""One ASGI request → a CallContext → the shared chain → a response."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from microlib.core.chain import CallNext, Chain
from microlib.core.context import CallContext
from microlib.core.errors import Error, FieldViolation, Internal, InvalidArgument
from microlib.http._responder import response_headers
from microlib.http.errors import problem_response

__all__ = ["Handler", "context_for", "context_from_scope", "endpoint", "error_response", "to_response"]

Handler = Callable[[Request], Awaitable[Any]]
"""A plain HTTP handler: takes the request, returns a Response or a value."""

log = structlog.get_logger("microlib.http")

# The request header that carries a client deadline, in seconds, as Envoy
# and grpc-gateway clients send it.
_TIMEOUT_HEADER = "x-request-timeout"


def endpoint(
    chain: Chain, handler: Handler, *, service: str, method: str
) -> Callable[[Request], Awaitable[Response]]:
    """Build the Starlette endpoint that runs ``handler`` through ``chain``.

    Args:
        chain: The service's interceptor chain, composed here once.
        handler: The user's handler.
        service: The name spans and metrics use for the API (``http`` for
            plain routes).
        method: The route template, never the raw path (bounded cardinality).
    """

    async def call(ctx: CallContext) -> Any:
        return await handler(ctx.request)

    wrapped: CallNext = chain.wrap(call)

    async def run(request: Request) -> Response:
        ctx = context_for(request, service=service, method=method)
        try:
            ctx.deadline = _deadline(ctx.metadata.get(_TIMEOUT_HEADER))
            result = await wrapped(ctx)
        except Error as exc:
            response = error_response(exc, ctx)
        except Exception:
            # Reached only when the recovery slot is disabled: still never a
            # traceback to the client.
            log.exception("unhandled error", method=ctx.full_method)
            response = error_response(Internal("internal error"), ctx)
        else:
            response = to_response(result)
            _add_headers(response, ctx)
        ctx.attributes["http.status_code"] = response.status_code
        return response

    return run


def context_for(request: Request, *, service: str, method: str) -> CallContext:
    """The CallContext of an HTTP request (lower-cased headers as metadata)."""
    ctx = context_from_scope(request.scope, service=service, method=method, route=method)
    ctx.request = request
    return ctx


def context_from_scope(scope: Mapping[str, Any], *, service: str, method: str, route: str) -> CallContext:
    """The CallContext of an ASGI HTTP scope, for endpoints that skip ``Request``.

    Args:
        scope: The ASGI scope.
        service: The API name spans and metrics report.
        method: The method within it (an RPC name, a route template).
        route: The route template, set as the ``http.route`` attribute.

    Returns:
        A context with lower-cased headers as metadata (repeated headers
        joined with ``", "``), the peer, and ``http.route``/``http.method``.
    """
    raw_headers = scope["headers"]
    metadata = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
    if len(metadata) != len(raw_headers):
        metadata = {}
        for k, v in raw_headers:
            name, value = k.decode("latin-1").lower(), v.decode("latin-1")
            metadata[name] = f"{metadata[name]}, {value}" if name in metadata else value
    client = scope.get("client")
    ctx = CallContext(
        kind="http",
        service=service,
        method=method,
        metadata=metadata,
        peer=f"{client[0]}:{client[1]}" if client else "",
    )
    ctx.attributes["http.route"] = route
    ctx.attributes["http.method"] = scope["method"]
    return ctx


def error_response(error: Error, ctx: CallContext) -> Response:
    """Render ``error`` for the caller, with the context's response headers."""
    correlation = str(ctx.attributes.get("correlation_id") or ctx.attributes.get("request_id") or "")
    response = problem_response(error, correlation_id=correlation)
    _add_headers(response, ctx)
    return response


def _add_headers(response: Response, ctx: CallContext) -> None:
    # The call's metadata replaces what the response set under the same
    # names; values beyond Latin-1 go out as UTF-8 octets, as on every route.
    added = response_headers(ctx)
    if added:
        names = {name for name, _ in added}
        kept = [header for header in response.raw_headers if header[0] not in names]
        response.raw_headers = [*kept, *added]


def to_response(result: Any) -> Response:
    """Turn a handler's return value into a response.

    A Response is sent as is; a pydantic model, a dict or a list as JSON; a
    string as text; None as 204.
    """
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        return Response(result.model_dump_json(by_alias=True), media_type="application/json")
    if result is None:
        return Response(status_code=204)
    if isinstance(result, str):
        return PlainTextResponse(result)
    if isinstance(result, dict | list):
        return JSONResponse(result)
    return Response(json.dumps(result), media_type="application/json")


def _deadline(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise InvalidArgument(
            f"header {_TIMEOUT_HEADER} must be a positive number of seconds, got {value!r}",
            violations=[FieldViolation(f"header.{_TIMEOUT_HEADER}", "must be a positive number", "gt")],
        )
    return time.monotonic() + seconds
