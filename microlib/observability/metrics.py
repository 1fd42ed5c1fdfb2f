"""The Metrics protocol that user code and components record through.

It mirrors prometheus-client's own shape (``.labels(...).inc()``). The
production implementation, ``PrometheusMetrics``, keeps the metrics in a
prometheus-client registry owned by the Service rather than the
process-global default one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Counter", "Gauge", "Histogram", "Instrumented", "Metrics"]


class Counter(Protocol):
    """A monotonically increasing count."""

    def labels(self, *values: str, **labels: str) -> Counter:
        """The child for one combination of label values."""
        ...

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``."""
        ...


class Gauge(Protocol):
    """A value that goes up and down."""

    def labels(self, *values: str, **labels: str) -> Gauge:
        """The child for one combination of label values."""
        ...

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``."""
        ...

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount``."""
        ...

    def set(self, value: float) -> None:
        """Set the value."""
        ...


class Histogram(Protocol):
    """A distribution of observed values, in buckets."""

    def labels(self, *values: str, **labels: str) -> Histogram:
        """The child for one combination of label values."""
        ...

    def observe(self, amount: float) -> None:
        """Record one value."""
        ...


class Metrics(Protocol):
    """Creates (or returns the already created) metrics of one registry.

    Asking twice for the same name returns the same metric, so components
    can declare their metrics where they use them.
    """

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
        """A counter named ``name`` (``_total`` is appended on exposition)."""
        ...

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Gauge:
        """A gauge named ``name``."""
        ...

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] | None = None,
    ) -> Histogram:
        """A histogram named ``name``; ``buckets`` default to latency buckets."""
        ...


@runtime_checkable
class Instrumented(Protocol):
    """A component that records metrics in its service's registry.

    The service calls ``instrument`` once, when it is assembled (the
    registry exists from then on), for every component added before.
    """

    def instrument(self, metrics: Metrics) -> None:
        """Create the component's metrics in ``metrics``."""
        ...
