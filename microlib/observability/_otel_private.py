"""What microlib uses of OpenTelemetry that is not its public API: the one module that names it.

docs/adr/0006-lean-spans.md says why each is needed:

- :func:`clean_attribute_value` is the SDK's attribute validator
  (``opentelemetry.attributes._clean_attribute_value``): the lean span checks
  user-supplied values exactly as the SDK's ``BoundedAttributes`` does.
- :func:`agnosticcontextmanager` is the API's decorator
  (``opentelemetry.util._decorator._agnosticcontextmanager``) that makes
  ``start_as_current_span`` a context manager and a decorator of sync and
  async functions, as the SDK's tracer is.
- :func:`ending_hook` is a span processor's ``_on_ending``, which the SDK's
  span calls between setting its end time and ``on_end``.
- :func:`sampled_span_sink` is what a ``BatchSpanProcessor``'s ``on_end`` does
  with a sampled span (its ``BatchProcessor``'s ``emit``): a lean span is
  always sampled, so it goes there without ``on_end``'s four property reads.
- :data:`CURRENT_CONTEXT` is the ``ContextVar`` behind the API's
  ``get_current``, ``attach`` and ``detach`` (the default runtime context's
  ``_current_context``), and :data:`SPAN_KEY` the context key
  ``set_span_in_context`` stores the span under
  (``opentelemetry.trace.propagation._SPAN_KEY``): the HTTP edge makes its
  span current with one variable set instead of the API's three calls deep.
- :func:`new_span_context` builds a ``SpanContext`` (a tuple of trace id,
  span id, remote flag, trace flags, trace state and validity) for ids the
  lean tracer drew itself, or read from a canonical ``traceparent``, without
  the constructor's range checks (:data:`span_context_of` from the fields, in
  one call into C), and :func:`context_ids` reads the fields
  the OTLP encoder needs from it in one call instead of a property each.
- ``ReadableSpan``'s state: ``LeanSpan`` is a ``ReadableSpan`` that sets the
  fields ``ReadableSpan``'s properties read (``_name``, ``_context``,
  ``_kind``, ``_parent``, ``_start_time``, ``_end_time``, ``_attributes``,
  ``_events``, ``_links``, ``_status``, ``_instrumentation_scope``,
  ``_instrumentation_info``) itself: the span is its own frozen copy. It
  answers ``resource`` (the only reader of ``_resource``) from its provider.

opentelemetry-api and -sdk are pinned to the minor tested (``>=1.45,<1.46`` in
pyproject.toml); ``tests/observability/test_otel_drift.py`` fails when a
release changes any of these. The OTLP/gRPC exporter's internal, in the
``otlp`` extra, is named in ``_otlp_grpc_private``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from operator import itemgetter

from opentelemetry import context as _context_api
from opentelemetry.attributes import _clean_attribute_value
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanContext, TraceFlags, TraceState
from opentelemetry.trace import propagation as _propagation
from opentelemetry.util._decorator import _agnosticcontextmanager

__all__ = [
    "CURRENT_CONTEXT",
    "SPAN_KEY",
    "agnosticcontextmanager",
    "clean_attribute_value",
    "context_ids",
    "ending_hook",
    "new_span_context",
    "sampled_span_sink",
    "span_context_of",
]

clean_attribute_value = _clean_attribute_value
agnosticcontextmanager = _agnosticcontextmanager

SPAN_KEY: str = _propagation._SPAN_KEY
"""The key of the current span in an OpenTelemetry ``Context``."""


def _current_context_var() -> ContextVar[Context] | None:
    runtime = _context_api._RUNTIME_CONTEXT
    if type(runtime) is ContextVarsRuntimeContext:
        var: ContextVar[Context] = runtime._current_context
        return var
    return None


CURRENT_CONTEXT: ContextVar[Context] | None = _current_context_var()
"""The variable holding OpenTelemetry's current context; None when ``OTEL_PYTHON_CONTEXT``
chose another runtime context (then the API's ``attach`` and ``detach`` are the way)."""

span_context_of: Callable[[tuple[int, int, bool, TraceFlags, TraceState, bool]], SpanContext] = partial(
    tuple.__new__, SpanContext
)
"""``SpanContext`` from its fields ``(trace_id, span_id, is_remote, trace_flags, trace_state,
is_valid)``, unchecked: for valid ids only (:func:`new_span_context` says it with names; this
is one call into C, for the lean tracer's every span)."""


def new_span_context(
    trace_id: int, span_id: int, trace_flags: TraceFlags, trace_state: TraceState, *, remote: bool = False
) -> SpanContext:
    """``SpanContext(trace_id, span_id, is_remote=remote, trace_flags, trace_state)`` for valid ids.

    Args:
        trace_id: A trace id in 1 to 2**128 - 1.
        span_id: A span id in 1 to 2**64 - 1.
        trace_flags: The span's flags.
        trace_state: The trace state it carries on.
        remote: Read from a caller's headers, not made in this process.
    """
    return span_context_of((trace_id, span_id, remote, trace_flags, trace_state, True))


context_ids: Callable[[SpanContext], tuple[int, int, bool, TraceState]] = itemgetter(0, 1, 2, 4)
"""``(trace_id, span_id, is_remote, trace_state)`` of a ``SpanContext``."""


def ending_hook(processor: SpanProcessor) -> Callable[[ReadableSpan], None]:
    """The processor's hook for a span that has its end time but has not reached ``on_end``."""
    hook: Callable[[ReadableSpan], None] = processor._on_ending  # type: ignore[assignment]
    return hook


def sampled_span_sink(processor: SpanProcessor) -> Callable[[ReadableSpan], None] | None:
    """What ``processor.on_end`` does with a span whose context is sampled, when that is one
    step of its own: the batch of a ``BatchSpanProcessor`` (not a subclass, which may differ).
    None for any other processor."""
    if type(processor) is BatchSpanProcessor:
        emit: Callable[[ReadableSpan], None] = processor._batch_processor.emit
        return emit
    return None
