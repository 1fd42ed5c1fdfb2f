"""What microlib uses of opentelemetry-exporter-otlp-proto-grpc that is not its public API.

:class:`EncodedGrpcExporter` is opentelemetry's OTLP/gRPC span exporter with
its ``_translate_data`` step (spans to the request message) given the
request's wire bytes by another encoder (``_otlp_wire``, docs/adr/0006-lean-spans.md).
The exporter comes with the ``otlp`` extra, so this module is imported only
when ``tracing.exporter`` is ``otlp-grpc``. The exporter is pinned to the
minor tested (``>=1.45,<1.46``); ``tests/observability/test_otel_drift.py``
fails when a release moves the step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["EncodedGrpcExporter"]


class EncodedGrpcExporter(OTLPSpanExporter):
    """opentelemetry's OTLP/gRPC exporter (retries, backoff, timeouts) with spans encoded by ``encode``.

    The request is parsed back into the message the exporter's stub expects;
    in C that costs a small fraction of building it span by span.

    Args:
        encode: Serializes an ``ExportTraceServiceRequest`` carrying the spans.
        endpoint, insecure, headers, timeout: The exporter's own.
    """

    def __init__(
        self,
        encode: Callable[[Sequence[ReadableSpan]], bytes],
        *,
        endpoint: str,
        insecure: bool,
        headers: dict[str, str],
        timeout: float,
    ) -> None:
        super().__init__(endpoint=endpoint, insecure=insecure, headers=headers, timeout=timeout)
        self._encode = encode

    def _translate_data(self, data: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        return ExportTraceServiceRequest.FromString(self._encode(data))
