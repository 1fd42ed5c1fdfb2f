"""Hit, miss, error and latency metrics shared by the cache implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from microlib.observability.metrics import Metrics

_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class CacheMetrics:
    """The metrics of one cache; every method is a no-op without a registry."""

    def __init__(self, name: str, metrics: Metrics | None) -> None:
        self.enabled = metrics is not None
        if metrics is None:
            return
        self._hits = metrics.counter("microlib_cache_hits", "Cache lookups that found a value.", ("cache",))
        self._hits = self._hits.labels(name)
        self._misses = metrics.counter(
            "microlib_cache_misses", "Cache lookups that found nothing.", ("cache",)
        )
        self._misses = self._misses.labels(name)
        self._errors = metrics.counter(
            "microlib_cache_errors", "Cache operations that failed.", ("cache", "operation")
        )
        self._latency = metrics.histogram(
            "microlib_cache_operation_duration_seconds",
            "Duration of cache operations.",
            ("cache", "operation"),
            buckets=_BUCKETS,
        )
        self._name = name
        self._children: dict[str, Any] = {}

    def looked_up(self, hits: int, total: int) -> None:
        """Count ``hits`` hits and ``total - hits`` misses."""
        if self.enabled:
            if hits:
                self._hits.inc(hits)
            if total - hits:
                self._misses.inc(total - hits)

    def timed(self, operation: str, seconds: float) -> None:
        """Record the duration of one backend operation."""
        child = self._children.get(operation)
        if child is None:
            child = self._children[operation] = self._latency.labels(self._name, operation)
        child.observe(seconds)

    def failed(self, operation: str) -> None:
        """Count one failed backend operation."""
        self._errors.labels(self._name, operation).inc()
