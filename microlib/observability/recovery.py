"""Panic recovery: any exception that is not an ``Error`` becomes ``Internal``.

The caller gets a generic message with a correlation id (the trace id, or
the request id when the call is not traced); the traceback goes to the log
line that carries the same id, never to the caller.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from microlib.core.chain import CallNext
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


class RecoveryInterceptor:
    """Turns unexpected exceptions into ``Internal`` with a correlation id.

    The id is stored in ``ctx.attributes["correlation_id"]`` and in the
    error's ``metadata["correlation_id"]``, for the transport to render.
    ``Error`` subclasses and cancellation pass through unchanged.
    """

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Run the call; translate a non-``Error`` exception."""
        try:
            return await call_next(ctx)
        except Error:
            raise
        except Exception as exc:
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
            log.error("unhandled exception", exc_info=exc, **fields)
            raise Internal(
                f"internal error; correlation id {correlation}",
                reason="INTERNAL",
                metadata={"correlation_id": correlation},
            ) from exc
