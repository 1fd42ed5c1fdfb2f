"""What microlib uses of opentelemetry-exporter-otlp-proto-grpc that is not its public API.

:class:`EncodedGrpcExporter` is opentelemetry's OTLP/gRPC span exporter with
its ``_translate_data`` step (spans to the request message) given the
request's wire bytes by another encoder (``_otlp_wire``, docs/adr/0006-lean-spans.md),
and its stub (``_stub``, which ``_initialize_channel_and_stub`` makes
``_client`` of, on each new channel) sending those bytes as they are. The
exporter comes with the ``otlp`` extra, so this module is imported only
when ``tracing.exporter`` is ``otlp-grpc``. The exporter is pinned to the
minor tested (``>=1.45,<1.46``); ``tests/observability/test_otel_drift.py``
fails when a release moves either step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["EncodedGrpcExporter"]

_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


class _EncodedStub:
    """The generated ``TraceServiceStub``, but its request is already serialized."""

    def __init__(self, channel: Any) -> None:
        # No request serializer: grpc sends bytes as given.
        self.Export = channel.unary_unary(
            _EXPORT, request_serializer=None, response_deserializer=ExportTraceServiceResponse.FromString
        )


class EncodedGrpcExporter(OTLPSpanExporter):
    """opentelemetry's OTLP/gRPC exporter (retries, backoff, timeouts) with spans encoded by ``encode``.

    The request's bytes go on the wire as ``encode`` wrote them: the SDK's
    stub would parse them into a message and serialize it again.

    Args:
        encode: Serializes an ``ExportTraceServiceRequest`` carrying the spans,
            whole or as ``sink`` queued them.
        sink: Given a batch's queue, what a lean span's end calls instead, to
            queue the span already encoded (``SpanProcessors`` asks for it).
        endpoint, insecure, headers, timeout: The exporter's own.
    """

    def __init__(
        self,
        encode: Callable[[Sequence[Any]], bytes],
        sink: Callable[[Callable[[Any], None]], Callable[[Any], None]],
        *,
        endpoint: str,
        insecure: bool,
        headers: dict[str, str],
        timeout: float,
    ) -> None:
        super().__init__(endpoint=endpoint, insecure=insecure, headers=headers, timeout=timeout)
        self._encode = encode
        self.lean_span_sink = sink

    def _initialize_channel_and_stub(self) -> None:
        # Each channel, the first and those remade after UNAVAILABLE, gets the stub sending bytes.
        self._stub = _EncodedStub
        super()._initialize_channel_and_stub()  # type: ignore[no-untyped-call]

    def _translate_data(self, data: Sequence[ReadableSpan]) -> bytes:  # type: ignore[override]
        return self._encode(data)
