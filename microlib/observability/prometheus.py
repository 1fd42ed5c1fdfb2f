"""The Prometheus implementation of ``Metrics`` and its exposition (served by ``microlib.http``).

Each service owns a ``CollectorRegistry``, never the process-global one, so
two services (or two tests) in one process do not collide. In one process
the metrics are microlib's own (``_families``: no lock per update), exposed
through that registry. With several worker processes, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by the workers:
the metrics are then prometheus-client's, their values kept in files there,
and every scrape aggregates all workers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import prometheus_client
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from microlib.core.errors import FailedPrecondition
from microlib.observability._families import CounterFamily, GaugeFamily, HistogramFamily
from microlib.observability.metrics import Counter, Gauge, Histogram

__all__ = ["DEFAULT_BUCKETS", "PrometheusMetrics"]

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Latency buckets in seconds, used when a histogram names none."""

_SIZE_BUCKETS = (64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0)


class PrometheusMetrics:
    """A service's metrics, in its own prometheus-client registry.

    Asking twice for a metric with the same name, type and labels returns the
    same metric, so components declare metrics where they use them.

    Args:
        process_metrics: Also export ``process_*`` (CPU, memory, file
            descriptors), ``python_info`` and ``python_gc_*``.
        multiprocess_dir: The shared directory for multi-process mode;
            defaults to ``PROMETHEUS_MULTIPROC_DIR``.
        enabled: False (``metrics.enabled=false``) records nothing: every
            metric asked for is one that ignores its updates (names and
            labels are still checked), and the registry stays empty.
    """

    def __init__(
        self, *, process_metrics: bool = True, multiprocess_dir: str | None = None, enabled: bool = True
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess_dir = multiprocess_dir or os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.enabled = enabled
        self._metrics: dict[str, tuple[str, tuple[str, ...], Any]] = {}
        # Per-process collectors cannot be summed across workers, so in
        # multi-process mode they are left out, as prometheus-client advises.
        if enabled and process_metrics and self.multiprocess_dir is None:
            prometheus_client.ProcessCollector(registry=self.registry)
            prometheus_client.PlatformCollector(registry=self.registry)
            prometheus_client.GCCollector(registry=self.registry)

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
        """A counter; ``_total`` is appended on exposition when missing.

        Raises:
            FailedPrecondition: ``name`` exists with another type or labels.
        """
        base = name.removesuffix("_total")
        return self._get(  # type: ignore[no-any-return]
            base,
            "counter",
            labelnames,
            lambda: CounterFamily(base, documentation, labelnames),
            lambda: prometheus_client.Counter(base, documentation, labelnames, registry=self.registry),
        )

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Gauge:
        """A gauge; in multi-process mode the live workers' values are summed.

        Raises:
            FailedPrecondition: ``name`` exists with another type or labels.
        """
        return self._get(  # type: ignore[no-any-return]
            name,
            "gauge",
            labelnames,
            lambda: GaugeFamily(name, documentation, labelnames),
            lambda: prometheus_client.Gauge(
                name, documentation, labelnames, registry=self.registry, multiprocess_mode="livesum"
            ),
        )

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] | None = None,
    ) -> Histogram:
        """A histogram; ``buckets`` default to :data:`DEFAULT_BUCKETS` (seconds).

        Raises:
            FailedPrecondition: ``name`` exists with another type or labels.
        """
        chosen = tuple(buckets) if buckets is not None else DEFAULT_BUCKETS
        return self._get(  # type: ignore[no-any-return]
            name,
            "histogram",
            labelnames,
            lambda: HistogramFamily(name, documentation, labelnames, chosen),
            lambda: prometheus_client.Histogram(
                name, documentation, labelnames, buckets=chosen, registry=self.registry
            ),
        )

    def size_histogram(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Histogram:
        """A histogram of byte sizes, in powers of four from 64 B to 4 MiB."""
        return self.histogram(name, documentation, labelnames, buckets=_SIZE_BUCKETS)

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """Render every metric for a scrape.

        Args:
            accept: The scraper's ``Accept`` header; OpenMetrics is returned
                when it asks for ``application/openmetrics-text``.

        Returns:
            The body and its content type.
        """
        encoder, content_type = choose_encoder(accept)
        if self.multiprocess_dir is None:
            return encoder(self.registry), content_type
        # Multi-process mode only (configured by its directory): a process without one never loads it.
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return encoder(registry), content_type

    def mark_process_dead(self, pid: int | None = None) -> None:
        """In multi-process mode, drop a finished worker's live gauges.

        Args:
            pid: The worker's process id; this process when omitted.
        """
        if self.multiprocess_dir is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                pid if pid is not None else os.getpid(), self.multiprocess_dir
            )

    def _get(self, name: str, kind: str, labelnames: Sequence[str], local: Any, shared: Any) -> Any:
        labels = tuple(labelnames)
        known = self._metrics.get(name)
        if known is not None:
            if known[:2] != (kind, labels):
                raise FailedPrecondition(
                    f"metric {name!r} is already registered as a {known[0]} with labels {list(known[1])}, "
                    f"not a {kind} with labels {list(labels)}",
                    reason="METRIC_CONFLICT",
                )
            return known[2]
        if not self.enabled:
            metric: Any = _UNRECORDED
        elif self.multiprocess_dir is None:
            family = local()
            self.registry.register(family)
            metric = family.recorder()
        else:
            metric = shared()
        self._metrics[name] = (kind, labels, metric)
        return metric


class _Unrecorded:
    """A counter, gauge and histogram (and each of their children) that records nothing."""

    def labels(self, *values: str, **labels: str) -> _Unrecorded:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def dec(self, amount: float = 1) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


_UNRECORDED = _Unrecorded()
