"""Span exporters chosen by ``tracing.exporter``: OTLP over gRPC or HTTP, console, none."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from microlib.config.model import TracingSettings
from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = ["build_exporter"]

_DEFAULT_ENDPOINTS = {"otlp-grpc": "http://localhost:4317", "otlp-http": "http://localhost:4318/v1/traces"}


def build_exporter(settings: TracingSettings) -> SpanExporter | None:
    """The exporter ``settings`` ask for, or None for ``exporter: none``.

    ``otlp-grpc`` uses TLS unless the endpoint is ``http://``; ``otlp-http``
    posts protobuf to the endpoint as given (``.../v1/traces``).

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
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(
            endpoint=parts.netloc,
            insecure=parts.scheme == "http",
            headers=headers,
            timeout=settings.timeout,
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter(endpoint=endpoint, headers=headers, timeout=settings.timeout)
