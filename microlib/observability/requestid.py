"""Request ids: taken from ``X-Request-ID`` (or gRPC ``x-request-id``) or minted, and echoed back."""

from __future__ import annotations

import random
import re
from contextvars import Token

from microlib.core.chain import Stage
from microlib.core.context import CallContext
from microlib.observability._exchange import _Exchange
from microlib.observability._structlog_private import field_var
from microlib.observability.identity import _current

__all__ = ["REQUEST_ID_HEADER", "RequestIdInterceptor", "new_request_id", "valid_request_id"]

REQUEST_ID_HEADER = "x-request-id"
"""The header (lower-case, as in ``CallContext.metadata``) carrying the request id."""

# Anything else in the header (too long, spaces, control characters) could
# forge log lines, so it is replaced by a fresh id.
_VALID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def new_request_id() -> str:
    """A fresh request id: 128 random bits in hex.

    Like OpenTelemetry's trace ids it comes from ``random``, not the OS:
    an id names a request, it protects nothing, and a syscall per request
    costs more than the rest of the bookkeeping.
    """
    # The digits of format(n, "032x"), for half the work of parsing a format spec.
    return random.getrandbits(128).to_bytes(16).hex()


def valid_request_id(value: str) -> bool:
    """Whether ``value`` is acceptable as a caller-supplied request id (1-128 of ``A-Za-z0-9._:-``)."""
    return _VALID.fullmatch(value) is not None


class RequestIdInterceptor(Stage):
    """Gives every call a request id, for every transport.

    The id is the caller's ``x-request-id`` when valid, a new UUID otherwise;
    it is stored in ``ctx.attributes["request_id"]``, echoed in
    ``ctx.response_metadata["x-request-id"]`` (gRPC: in
    ``ctx.response_trailers``, the trailing metadata; not under the HTTP
    edge, which stamps the id on the response itself) and bound as the
    ``request_id`` field of every log line written during the call.
    """

    # Under the HTTP edge, whose record gives log lines the id, there is nothing to unbind.
    exit_needs_state = True

    def __init__(self) -> None:
        # The variable bind_contextvars(request_id=...) would set, set directly.
        self._field = field_var("request_id")

    def enter(self, ctx: CallContext) -> Token[str] | None:
        """Settle the call's request id, echo it, and bind it to log lines."""
        request_id = ctx.metadata.get(REQUEST_ID_HEADER, "")
        if request_id:
            edge = _current.get()
            # The HTTP edge has validated (or minted) this id, and its record
            # gives it to the log lines of the whole request already.
            bound_by_edge = isinstance(edge, _Exchange) and edge.request_id == request_id
            if not bound_by_edge and not valid_request_id(request_id):
                request_id = new_request_id()
        else:
            # The edge always passes its id on: a call without one is not under it.
            bound_by_edge = False
            request_id = new_request_id()
        ctx.attributes["request_id"] = request_id
        if bound_by_edge:
            # The edge stamps this id on the response itself: echoed here, it would be
            # encoded into the route's response headers only for the edge to find it there.
            return None
        # gRPC: in the trailers, which go out with the status in the same
        # operation; as initial metadata it would cost an operation of its own.
        echo = ctx.response_trailers if ctx.kind == "grpc" else ctx.response_metadata
        echo[REQUEST_ID_HEADER] = request_id
        return self._field.set(request_id)

    def exit(self, ctx: CallContext, state: Token[str] | None, failure: BaseException | None) -> None:
        """Unbind the id from log lines."""
        if state is not None:
            self._field.reset(state)
