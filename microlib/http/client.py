"""The traced outgoing HTTP client: client spans, W3C header injection, metrics.

Use it (``service.http_client(base_url=...)``) for calls to other
services, so their server spans become children of this service's spans.
The span and the duration cover the whole exchange, up to the last byte
of the response body.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from opentelemetry import trace

from microlib.observability._lean_span import FrameworkAttributes
from microlib.observability.metrics import Metrics
from microlib.observability.tracing import Tracing

__all__ = ["TracedTransport", "traced_client"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


class TracedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that traces and measures each request it forwards.

    Metrics (labels: ``method``, ``server`` as ``host:port``, ``status``, the
    status code or the error type): ``http_client_requests_total`` and
    ``http_client_request_duration_seconds``.

    Args:
        transport: The transport that sends requests; a pooled
            ``httpx.AsyncHTTPTransport`` by default.
        tracing: The calling service's tracing.
        metrics: The calling service's metrics, or None for none.
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        tracing: Tracing,
        metrics: Metrics | None = None,
    ) -> None:
        self._inner = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._tracing = tracing
        self._count = self._duration = None
        if metrics is not None:
            labels = ("method", "server", "status")
            self._count = metrics.counter(
                "http_client_requests_total", "Outgoing HTTP requests completed.", labels
            )
            self._duration = metrics.histogram(
                "http_client_request_duration_seconds", "Outgoing HTTP request duration.", labels
            )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` inside a client span, with ``traceparent`` injected."""
        method = request.method if request.method in _METHODS else "_OTHER"
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        server = f"{url.host}:{port}"
        span = self._tracing.tracer.start_span(
            method,
            kind=trace.SpanKind.CLIENT,
            attributes=FrameworkAttributes(
                {
                    "http.request.method": method,
                    "url.full": str(url.copy_with(username=None, password=None, query=None)),
                    "server.address": url.host,
                    "server.port": port,
                }
            ),
        )
        self._tracing.inject(request.headers, trace.set_span_in_context(span))
        start = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except Exception as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.record_exception(exc)
            span.set_status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
            span.end()
            self._record(method, server, type(exc).__name__, start)
            raise
        status = response.status_code
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_status(trace.StatusCode.ERROR, f"HTTP {status}")

        def finish() -> None:
            span.end()
            self._record(method, server, str(status), start)

        if response.is_closed:
            # Built with its content (httpx.MockTransport's answers): read and closed already, so
            # no stream of it will close again.
            finish()
        else:
            response.stream = _FinishingStream(response.stream, finish)
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()

    def _record(self, method: str, server: str, status: str, start: float) -> None:
        if self._count is not None and self._duration is not None:
            self._count.labels(method, server, status).inc()
            self._duration.labels(method, server, status).observe(time.perf_counter() - start)


class _FinishingStream(httpx.AsyncByteStream):
    """Ends the client span once the body is read and the stream closed."""

    def __init__(self, stream: Any, finish: Any) -> None:
        self._stream = stream
        self._finish = finish

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            finish, self._finish = self._finish, None
            if finish is not None:
                finish()


def traced_client(
    *,
    tracing: Tracing,
    metrics: Metrics | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` sending through a :class:`TracedTransport`.

    Args:
        tracing: The calling service's tracing.
        metrics: The calling service's metrics.
        transport: The underlying transport (an ASGI transport in tests).
        kwargs: Passed to ``httpx.AsyncClient``.
    """
    return httpx.AsyncClient(transport=TracedTransport(transport, tracing=tracing, metrics=metrics), **kwargs)
