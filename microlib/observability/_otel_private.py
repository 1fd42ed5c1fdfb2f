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
- ``ReadableSpan``'s state: ``LeanSpan`` is a ``ReadableSpan`` that sets the
  fields ``ReadableSpan``'s properties read (``_name``, ``_context``,
  ``_kind``, ``_parent``, ``_start_time``, ``_end_time``, ``_attributes``,
  ``_events``, ``_links``, ``_resource``, ``_status``,
  ``_instrumentation_scope``, ``_instrumentation_info``) itself: the span is
  its own frozen copy.

opentelemetry-api and -sdk are pinned to the minor tested (``>=1.45,<1.46`` in
pyproject.toml); ``tests/observability/test_otel_drift.py`` fails when a
release changes any of these. The OTLP/gRPC exporter's internal, in the
``otlp`` extra, is named in ``_otlp_grpc_private``.
"""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.attributes import _clean_attribute_value
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.util._decorator import _agnosticcontextmanager

__all__ = ["agnosticcontextmanager", "clean_attribute_value", "ending_hook"]

clean_attribute_value = _clean_attribute_value
agnosticcontextmanager = _agnosticcontextmanager


def ending_hook(processor: SpanProcessor) -> Callable[[ReadableSpan], None]:
    """The processor's hook for a span that has its end time but has not reached ``on_end``."""
    hook: Callable[[ReadableSpan], None] = processor._on_ending  # type: ignore[assignment]
    return hook
