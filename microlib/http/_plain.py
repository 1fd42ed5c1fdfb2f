"""A plain route through the chain: a Starlette ``Request`` in, the handler's value out."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import structlog
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from microlib.core.chain import CallNext
from microlib.core.context import CallContext, Rejected
from microlib.core.errors import Error, Internal
from microlib.http._responder import response_headers
from microlib.http.context import context_from_scope
from microlib.http.errors import correlation_of, problem_response

__all__ = ["Handler", "Wrapping", "endpoint"]

Handler = Callable[[Request], Awaitable[Any]]
"""A plain HTTP handler: takes the request, returns a Response or a value."""


@runtime_checkable
class Wrapping(Protocol):
    """What wraps a handler in interceptors: the service's ``Chain``, or a composed list."""

    def wrap(self, handler: CallNext) -> CallNext: ...


log = structlog.get_logger("microlib.http")

# What JSONResponse.render passes json.dumps, which then builds this encoder for every body.
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def endpoint(
    chain: Wrapping, handler: Handler, *, service: str, method: str
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
        # By position, as context_from_scope asks of the doors serving every request.
        ctx = context_from_scope(request.scope, service, method, method, request.path_params)
        if not isinstance(ctx.request, Rejected):
            ctx.request = request
        try:
            result = await wrapped(ctx)
        except Error as exc:
            response = _error_response(exc, ctx)
        except Exception:
            # Reached only when the recovery slot is disabled: still never a
            # traceback to the client.
            log.exception("unhandled error", method=ctx.full_method)
            response = _error_response(Internal("internal error"), ctx)
        else:
            response = _to_response(result)
            _add_headers(response, ctx)
        ctx.attributes["http.status_code"] = response.status_code
        return response

    return run


def _error_response(error: Error, ctx: CallContext) -> Response:
    """Render ``error`` for the caller, with the context's response headers."""
    response = problem_response(error, correlation_id=correlation_of(ctx))
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


def _to_response(result: Any) -> Response:
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
        # JSONResponse's bytes and headers, without the encoder its json.dumps makes per call.
        return Response(_JSON.encode(result).encode("utf-8"), media_type="application/json")
    return Response(json.dumps(result), media_type="application/json")
