"""The floor: the least code we could write for request telemetry, as a yardstick.

Not microlib, and not a product: an ASGI middleware doing, per request, only
what "an access log line at info, the standard HTTP metrics, and a sampled
server span exported over OTLP" cannot avoid, with none of the generality a
framework owes its users (no configurable pipeline, no redaction, no
processors, no user attributes, no limits, no span API for handlers):

- metrics: the in-flight gauge up and down and one observation in the
  duration histogram of the request's labels (microlib's lock-free families,
  the cheapest updates measured here);
- trace: the ``traceparent`` header looked for, two random ids, two clock
  reads, a tuple kept; every 512 spans one OTLP ``ExportTraceServiceRequest``
  written field by field (the parts a method and route always share written
  once) and sent on a grpc.aio channel without waiting for the answer (with
  no endpoint, the span is dropped, as by an exporter ``none``);
- log: one JSON line (``orjson.dumps`` of the fields microlib's access line
  carries) kept, and the lines written with one ``os.write`` per loop turn
  (no line when the access log is off, as at level warning).

A throughput target this yardstick misses on a route is out of reach of any
implementation of the same duties we know of: ``bench_http.py`` runs it as
the ``floor`` mode next to microlib's, ``bench/http/run.py`` as the
``floor`` app.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import time
from typing import Any

import grpc
import orjson
import prometheus_client

from microlib.observability._families import GaugeFamily, HistogramFamily
from microlib.observability._otlp_wire import _field, _value

_BATCH = 512
_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


class FloorTelemetry:
    """ASGI middleware: metrics, a JSON access line and an exported span per request."""

    def __init__(
        self, app: Any, endpoint: str | None, *, access_log: bool = True, service: str = "bench"
    ) -> None:
        self.app = app
        self.service = service
        self.endpoint = None if endpoint is None else endpoint.removeprefix("http://")
        self.access_log = access_log
        self.duration = HistogramFamily(
            "http_server_request_duration_seconds",
            "Duration.",
            ["method", "route", "status"],
            prometheus_client.Histogram.DEFAULT_BUCKETS,
        )
        self.in_flight = GaugeFamily("http_server_active_requests", "In flight.", ["method"]).labels("GET")
        self.spans: list[tuple[Any, ...]] = []
        self.lines: list[bytes] = []
        self.channel: grpc.aio.Channel | None = None
        self.pending: set[asyncio.Task[Any]] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parent = None
        for name, value in scope["headers"]:
            if name == b"traceparent":
                parent = value
        status = 500
        in_flight = self.in_flight
        in_flight.inc()
        start = time.time_ns()

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            end = time.time_ns()
            in_flight.dec()
            method, route = scope["method"], scope["path"]
            self.duration.labels(method, route, str(status)).observe((end - start) / 1e9)
            trace_id = random.getrandbits(128)
            span_id = random.getrandbits(64)
            if self.endpoint is not None:
                self._span((trace_id, span_id, parent, start, end, method, route, status))
            if self.access_log:
                self._line(method, route, status, (end - start) / 1e6, trace_id, span_id)

    def _line(self, method: str, route: str, status: int, ms: float, trace_id: int, span_id: int) -> None:
        if not self.lines:
            asyncio.get_running_loop().call_soon(self._flush_lines)
        self.lines.append(
            orjson.dumps(
                {
                    "event": "request",
                    "level": "info",
                    "logger": "access",
                    "timestamp": time.time(),
                    "service": self.service,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": ms,
                    "trace_id": f"{trace_id:032x}",
                    "span_id": f"{span_id:016x}",
                }
            )
        )

    def _flush_lines(self) -> None:
        lines, self.lines = self.lines, []
        os.write(1, b"\n".join(lines) + b"\n")

    def _span(self, span: tuple[Any, ...]) -> None:
        self.spans.append(span)
        if len(self.spans) >= _BATCH:
            spans, self.spans = self.spans, []
            task = asyncio.get_running_loop().create_task(self._export(spans))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)

    async def flush(self) -> None:
        """Export the spans kept and wait for every export sent."""
        if self.spans:
            spans, self.spans = self.spans, []
            await self._export(spans)
        await asyncio.gather(*self.pending)

    async def _export(self, spans: list[tuple[Any, ...]]) -> None:
        if self.channel is None:
            assert self.endpoint is not None
            self.channel = grpc.aio.insecure_channel(self.endpoint)
        export = self.channel.unary_unary(_EXPORT, request_serializer=None, response_deserializer=None)
        await export(encode_request(self.service, spans))


def encode_request(service: str, spans: list[tuple[Any, ...]]) -> bytes:
    """An OTLP ``ExportTraceServiceRequest`` of ``spans``, written field by field."""
    resource = _field(1, _field(1, _string_attribute("service.name", service)))
    scope = _field(1, _field(1, b"floor"))
    scope_spans = _field(2, scope + b"".join(_field(2, encode_span(span)) for span in spans))
    return _field(1, resource + scope_spans)


def encode_span(span: tuple[Any, ...]) -> bytes:
    """One OTLP ``Span``: ids, name, kind, times and four attributes."""
    trace_id, span_id, parent, start, end, method, route, status = span
    parent_field = b"" if parent is None else _field(4, bytes.fromhex(parent.decode()[36:52]))
    return b"".join(
        (
            b"\x0a\x10",  # 1 trace_id, 16 bytes
            trace_id.to_bytes(16, "big"),
            b"\x12\x08",  # 2 span_id, 8 bytes
            span_id.to_bytes(8, "big"),
            parent_field,
            _static(method, route),
            b"\x39",  # 7 start_time_unix_nano, fixed64
            start.to_bytes(8, "little"),
            b"\x41",  # 8 end_time_unix_nano, fixed64
            end.to_bytes(8, "little"),
            _field(9, _field(1, b"http.response.status_code") + _field(2, _value(status))),
        )
    )


@functools.cache
def _static(method: str, route: str) -> bytes:
    # Name, kind and the attributes a (method, route) pair always has: a
    # bounded set, written once each.
    return b"".join(
        (
            _field(5, f"{method} {route}".encode()),
            b"\x30\x02",  # 6 kind: SPAN_KIND_SERVER
            _field(9, _string_attribute("http.request.method", method)),
            _field(9, _string_attribute("http.route", route)),
            _field(9, _string_attribute("url.scheme", "http")),
        )
    )


def _string_attribute(key: str, value: str) -> bytes:
    return _field(1, key.encode()) + _field(2, _value(value))
