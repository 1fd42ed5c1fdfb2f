"""microlib.observability: logs, metrics, traces and health."""

from __future__ import annotations

from microlib.observability.health import ComponentHealth, Health, HealthReport, Phase
from microlib.observability.metrics import Counter, Gauge, Histogram, Metrics

__all__ = [
    "ComponentHealth",
    "Counter",
    "Gauge",
    "Health",
    "HealthReport",
    "Histogram",
    "Metrics",
    "Phase",
]
