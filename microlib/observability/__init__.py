"""microlib.observability: logs, metrics, traces and health."""

from __future__ import annotations

from microlib.observability.health import ComponentHealth, Health, HealthReport, Phase
from microlib.observability.http_server import HttpServerTelemetry
from microlib.observability.identity import ServiceIdentity
from microlib.observability.interceptors import LoggingInterceptor, MetricsInterceptor, TracingInterceptor
from microlib.observability.logging import LogPipeline
from microlib.observability.metrics import Counter, Gauge, Histogram, Instrumented, Metrics
from microlib.observability.processors import Redactor, add_service_fields, add_trace_ids
from microlib.observability.prometheus import PrometheusMetrics
from microlib.observability.recovery import RecoveryInterceptor, correlation_id
from microlib.observability.requestid import RequestIdInterceptor
from microlib.observability.stack import Observability
from microlib.observability.tracing import Tracing, start_span

__all__ = [
    "ComponentHealth",
    "Counter",
    "Gauge",
    "Health",
    "HealthReport",
    "Histogram",
    "HttpServerTelemetry",
    "Instrumented",
    "LogPipeline",
    "LoggingInterceptor",
    "Metrics",
    "MetricsInterceptor",
    "Observability",
    "Phase",
    "PrometheusMetrics",
    "RecoveryInterceptor",
    "Redactor",
    "RequestIdInterceptor",
    "ServiceIdentity",
    "Tracing",
    "TracingInterceptor",
    "add_service_fields",
    "add_trace_ids",
    "correlation_id",
    "start_span",
]
