"""Span exporters chosen by ``tracing.exporter``: OTLP over gRPC or HTTP, console, none."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from microlib.config.model import TracingSettings
from microlib.core.errors import FieldViolation, InvalidArgument
from microlib.observability._otlp_grpc_private import EncodedGrpcExporter
from microlib.observability._otlp_wire import encode_request, lean_span_sink

__all__ = ["build_exporter"]

_DEFAULT_ENDPOINTS = {"otlp-grpc": "http://localhost:4317", "otlp-http": "http://localhost:4318/v1/traces"}


def build_exporter(settings: TracingSettings) -> SpanExporter | None:
    """The exporter ``settings`` ask for, or None for ``exporter: none``.

    ``otlp-grpc`` uses TLS unless the endpoint is ``http://``; ``otlp-http``
    posts protobuf to the endpoint as given (``.../v1/traces``). Both are
    opentelemetry's exporters (retries, backoff, timeouts); the gRPC one
    encodes spans with microlib's faster wire encoder.

    Raises:
        InvalidArgument: ``tracing.endpoint`` is not an http(s) URL.
    """
    if settings.exporter == "none":
        return None
    if settings.exporter == "console":
        return ConsoleSpanExporter(out=sys.stderr)
    endpoint = settings.endpoint or _DEFAULT_ENDPOINTS[settings.exporter]
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument(
            f"tracing.endpoint must be an http:// or https:// URL, got {endpoint!r}",
            violations=[FieldViolation("tracing.endpoint", "expected http(s)://host:port", "url")],
        )
    headers = dict(settings.headers)
    if settings.exporter == "otlp-grpc":
        return EncodedGrpcExporter(
            encode_request,
            lean_span_sink,
            endpoint=parts.netloc,
            insecure=parts.scheme == "http",
            headers=headers,
            timeout=settings.timeout,
        )
    return HttpExporter(endpoint=endpoint, headers=headers, timeout=settings.timeout)
