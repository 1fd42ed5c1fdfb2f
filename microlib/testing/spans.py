"""``t.spans``: the spans a service under test finished, with lookups that explain a miss."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["Spans"]


class Spans:
    """Every span the service finished since the test started, in order.

    The spans are the ones the configured exporter also receives (sampling
    applies): the collection is one more processor on the service's tracer
    provider, so nothing of the production path is replaced.

    Args:
        provider: The service's tracer provider (``observability.tracing.provider``);
            None when tracing is off, and then nothing is collected.

    Example::

        async with TestService(service) as t:
            await t.http.get("/v1/books/1")
        span = t.spans.one("GET /v1/books/{id}")
        assert span.attributes["http.response.status_code"] == 200
    """

    __test__ = False

    def __init__(self, provider: TracerProvider | None) -> None:
        self._exporter = InMemorySpanExporter()
        if provider is not None:
            provider.add_span_processor(SimpleSpanProcessor(self._exporter))

    def all(self) -> list[ReadableSpan]:
        """The finished spans, oldest first."""
        return list(self._exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        """The finished spans called ``name``, oldest first."""
        return [span for span in self.all() if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        """The one finished span called ``name``.

        Raises:
            AssertionError: none or several, listing the names finished.
        """
        found = self.named(name)
        if len(found) != 1:
            seen = sorted({span.name for span in self.all()})
            raise AssertionError(f"expected one span named {name!r}, found {len(found)}; finished: {seen}")
        return found[0]

    def clear(self) -> None:
        """Forget the spans collected so far."""
        self._exporter.clear()
