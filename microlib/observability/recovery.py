"""Panic recovery: any exception that is not an ``Error`` becomes ``Internal``.

The caller gets a generic message with a correlation id (the trace id, or
the request id when the call is not traced); the traceback goes to the log
line that carries the same id, never to the caller.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from microlib.core.chain import Stage
from microlib.core.context import CallContext
from microlib.core.errors import Error, Internal

__all__ = ["RecoveryInterceptor", "correlation_id"]

log = structlog.get_logger("microlib.recovery")


def correlation_id(ctx: CallContext) -> str:
    """The id a caller can quote to find a call in logs and traces.

    Returns:
        ``ctx.attributes["trace_id"]`` when the call was traced, else its
        request id, else a new UUID.
    """
    return str(ctx.attributes.get("trace_id") or ctx.attributes.get("request_id") or uuid.uuid4().hex)


class RecoveryInterceptor(Stage):
    """Turns unexpected exceptions into ``Internal`` with a correlation id.

    The id is stored in ``ctx.attributes["correlation_id"]`` and in the
    error's ``metadata["correlation_id"]``, for the transport to render.
    ``Error`` subclasses and cancellation pass through unchanged.
    """

    # A success has nothing to translate.
    exit_needs_failure = True

    def exit(self, ctx: CallContext, state: None, failure: BaseException | None) -> BaseException | None:
        """Translate a non-``Error`` exception into ``Internal``, logging its traceback."""
        if failure is None or isinstance(failure, Error) or not isinstance(failure, Exception):
            return None
        correlation = correlation_id(ctx)
        ctx.attributes["correlation_id"] = correlation
        fields: dict[str, Any] = {
            "method": ctx.full_method,
            "kind": ctx.kind,
            "correlation_id": correlation,
        }
        if "trace_id" in ctx.attributes:
            # The span has ended by now, so its ids are passed explicitly.
            fields["trace_id"] = ctx.attributes["trace_id"]
            fields["span_id"] = ctx.attributes.get("span_id", "")
        log.error("unhandled exception", exc_info=failure, **fields)
        internal = Internal(
            f"internal error; correlation id {correlation}",
            reason="INTERNAL",
            metadata={"correlation_id": correlation},
        )
        internal.__cause__ = internal.__context__ = failure
        return internal
