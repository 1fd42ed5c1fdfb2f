"""``Observability``: a service's logs, metrics and traces, built from settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from opentelemetry.sdk.trace.export import SpanExporter

from microlib.config.model import Settings
from microlib.core.chain import Interceptor
from microlib.observability.identity import ServiceIdentity, _set_default_identity
from microlib.observability.interceptors import LoggingInterceptor, MetricsInterceptor, TracingInterceptor
from microlib.observability.logging import LogPipeline
from microlib.observability.prometheus import PrometheusMetrics
from microlib.observability.recovery import RecoveryInterceptor
from microlib.observability.requestid import RequestIdInterceptor
from microlib.observability.tracing import Tracing, _set_default_tracer

__all__ = ["Observability"]


class Observability:
    """Logs, metrics and traces of one service; also its ``observability`` Component.

    Building it installs the log pipeline (process-wide), creates the
    service's own metrics registry and its own tracer provider (never the
    global one). Register it first, so it stops last and flushes what the
    other components logged and traced while stopping.

    Args:
        settings: The whole configuration (``logging``, ``metrics``,
            ``tracing`` and ``lifecycle`` are read).
        identity: The service identity put on every line, span and metric.
        log_stream: Where log lines go; standard output by default.
        span_exporter: Overrides ``tracing.exporter`` (tests, custom backends).
    """

    name = "observability"

    def __init__(
        self,
        settings: Settings,
        identity: ServiceIdentity,
        *,
        log_stream: IO[str] | None = None,
        span_exporter: SpanExporter | None = None,
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.logs = LogPipeline(settings.logging, environment=identity.environment, stream=log_stream)
        self.logs.install()
        _set_default_identity(identity)
        # Disabled, nothing records: not the chain, the HTTP edge, the
        # components, nor the user's own metrics.
        self.metrics = PrometheusMetrics(
            process_metrics=settings.metrics.process_metrics, enabled=settings.metrics.enabled
        )
        self.metrics.gauge(
            "microlib_service_info",
            "The service's identity, always 1.",
            ("service", "version", "environment"),
        ).labels(identity.name, identity.version, identity.environment).set(1)
        self.tracing = Tracing(settings.tracing, identity, exporter=span_exporter)
        _set_default_tracer(self.tracing.tracer)

    def interceptors(self) -> dict[str, Interceptor]:
        """The chain interceptors by slot name, in their default order.

        Returns:
            ``request_id``, ``recovery``, ``tracing``, ``metrics`` (unless
            ``metrics.enabled`` is false) and ``logging``; the same objects
            serve HTTP, gRPC, messages and jobs.
        """
        metrics = {"metrics": MetricsInterceptor(self)} if self.settings.metrics.enabled else {}
        return {
            "request_id": RequestIdInterceptor(),
            "recovery": RecoveryInterceptor(),
            "tracing": TracingInterceptor(self),
            **metrics,
            "logging": LoggingInterceptor(self),
        }

    def apply(self, settings: Settings) -> None:
        """Apply a hot reload: log levels and the access-log switch."""
        self.settings = settings
        self.logs.apply(settings.logging)

    async def start(self) -> None:
        """Nothing to acquire: the pipeline, registry and tracer exist from construction."""

    async def stop(self) -> None:
        """Export pending spans and flush logs, within the lifecycle stop budget."""
        await self.tracing.shutdown(self.settings.lifecycle.stop_timeout * 0.8)
        self.metrics.mark_process_dead()
        self.logs.flush()

    async def check(self) -> Mapping[str, Any] | None:
        """Report the tracing exporter and log levels."""
        return {"exporter": self.settings.tracing.exporter if self.tracing.enabled else "disabled"}
