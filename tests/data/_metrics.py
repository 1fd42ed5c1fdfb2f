"""A Metrics implementation over a private prometheus_client registry (tests only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PCounter
from prometheus_client import Gauge as PGauge
from prometheus_client import Histogram as PHistogram


class PromMetrics:
    """Creates metrics in its own registry; the same name returns the same metric."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._made: dict[str, Any] = {}

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Any:
        return self._get(PCounter, name, documentation, labelnames)

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Any:
        return self._get(PGauge, name, documentation, labelnames)

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] | None = None,
    ) -> Any:
        extra = {"buckets": buckets} if buckets else {}
        return self._get(PHistogram, name, documentation, labelnames, **extra)

    def _get(self, kind: Any, name: str, documentation: str, labelnames: Sequence[str], **extra: Any) -> Any:
        if name not in self._made:
            self._made[name] = kind(name, documentation, labelnames, registry=self.registry, **extra)
        return self._made[name]

    def value(self, name: str, **labels: str) -> float:
        """The current value of one sample (0 when absent)."""
        return self.registry.get_sample_value(name, labels) or 0.0
