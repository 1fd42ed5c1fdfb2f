"""Counters, gauges and histograms for single-process mode, cheap to update.

prometheus-client's label children take a lock on every update (about
0.5 to 1.3 µs per call). Here a child is a few slots updated in place: a
counter or gauge is one float, a histogram a sum and one count per bucket,
kept non-cumulative and summed up only when scraped. Each family is a
collector in the service's prometheus-client ``CollectorRegistry``, so the
exposition (text and OpenMetrics) is written by prometheus-client as before;
for the same updates it is the same text, ``_created`` samples included.
Names, label names and buckets are checked by prometheus-client itself (a
family makes, and drops, an unregistered prometheus-client metric of the
same declaration), and ``labels()`` and the updates raise the same errors.

Thread safety. Python does not promise that ``x.value += v`` is atomic (its
FAQ lists ``i = i + 1`` among the operations that are not). CPython with the
GIL (3.10 and later) hands the GIL to another thread, and runs signal
handlers and pending calls, only where the interpreter checks its eval
breaker: at function entry, on backward jumps and after calls. An update
here is a load, a float or int addition and a store (``LOAD_ATTR``,
``BINARY_OP``, ``STORE_ATTR``/``STORE_SUBSCR``): no check, no call into
Python code and no allocation of a GC-tracked object (which could run a
collection, and finalizers, in 3.11), so no other thread runs between the
load and the store and no update is lost. That holds only for CPython with
the GIL enabled, so children take a lock on every other interpreter and on
free-threaded builds (``sys._is_gil_enabled()`` false).
``tests/observability/test_metric_families.py`` hammers one child from
several threads with a tiny switch interval.
"""

from __future__ import annotations

import sys
import threading
import time
from abc import ABC, abstractmethod
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, NoReturn, Protocol, Self, TypeVar

import prometheus_client
import prometheus_client.metrics
from prometheus_client.core import Metric, Sample
from prometheus_client.utils import floatToGoString

__all__ = [
    "CounterFamily",
    "GaugeFamily",
    "HistogramFamily",
    "ServedRecorder",
    "served_recorder",
    "updates_need_locks",
]


def updates_need_locks() -> bool:
    """Whether this interpreter may switch threads inside ``x.value += v``."""
    gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return sys.implementation.name != "cpython" or (gil_enabled is not None and not gil_enabled())


class _Child:
    __slots__ = ("_created", "_family", "_labelvalues")

    def __init__(self, family: _Family[Any], labelvalues: tuple[str, ...]) -> None:
        self._family = family
        self._labelvalues = labelvalues
        self._created = time.time()

    def labels(self, *values: str, **labels: str) -> NoReturn:
        """Refused, as by prometheus-client: a child has its labels already."""
        raise self._family.chained(self._labelvalues)


_C = TypeVar("_C", bound=_Child)


class _Family(ABC, Generic[_C]):
    """A metric's name, help and label names, and a child per label values."""

    kind: ClassVar[str]

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], locked: bool) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._sorted_labelnames = sorted(self.labelnames)
        self._locked = locked
        self._children: dict[tuple[str, ...], _C] = {}
        if not self.labelnames:
            self._children[()] = self._new_child(())

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    def recorder(self) -> _C | Self:
        """What users record through: the family when it has labels, else its one child."""
        return self._children[()] if not self.labelnames else self

    def labels(self, *values: str, **labels: str) -> _C:
        """The child for these label values, made on first use.

        Values are converted with ``str()``, as by prometheus-client; a value
        that equals a string already used (a ``str`` subclass) finds that
        string's child.
        """
        if values and not labels:
            child = self._children.get(values)
            if child is not None:
                return child
        return self._child(values, labels)

    def describe(self) -> list[Metric]:
        """The family without samples, for the registry's name-clash check."""
        return [Metric(self.name, self.documentation, self.kind)]

    def collect(self) -> list[Metric]:
        """The family and every child's samples, for a scrape."""
        metric = Metric(self.name, self.documentation, self.kind)
        created = _created_series_on()
        for values, child in self._children.copy().items():
            self._samples(metric.samples, child, dict(zip(self.labelnames, values, strict=True)), created)
        return [metric]

    def chained(self, labelvalues: tuple[str, ...]) -> ValueError:
        """The error of ``labels()`` called on a child, as prometheus-client words it."""
        if not self.labelnames:
            return ValueError(f"No label names were set when constructing {self}")
        current = dict(zip(self.labelnames, labelvalues, strict=True))
        return ValueError(f"{self} already has labels set ({current}); can not chain calls to .labels()")

    def _unlabelled(self) -> ValueError:
        return ValueError(f"{self.kind} metric is missing label values")

    def _child(self, values: tuple[str, ...], labels: dict[str, str]) -> _C:
        # The checks, their order and messages are prometheus-client's.
        if not self.labelnames:
            raise ValueError(f"No label names were set when constructing {self}")
        if values and labels:
            raise ValueError("Can't pass both *args and **kwargs")
        if labels:
            if sorted(labels) != self._sorted_labelnames:
                raise ValueError("Incorrect label names")
            key = tuple(str(labels[name]) for name in self.labelnames)
        else:
            if len(values) != len(self.labelnames):
                raise ValueError("Incorrect label count")
            key = tuple(str(value) for value in values)
        child = self._children.get(key)
        if child is None:
            # setdefault: two threads making the same child both get the kept one.
            child = self._children.setdefault(key, self._new_child(key))
        return child

    @abstractmethod
    def _new_child(self, labelvalues: tuple[str, ...]) -> _C:
        """A child for ``labelvalues``, of the family's kind."""

    @abstractmethod
    def _samples(self, out: list[Sample], child: _C, labels: dict[str, str], created: bool) -> None:
        """Append ``child``'s samples, with ``labels``, to ``out``."""


class _CounterChild(_Child):
    __slots__ = ("_value",)

    def __init__(self, family: CounterFamily, labelvalues: tuple[str, ...]) -> None:
        super().__init__(family, labelvalues)
        self._value = 0.0

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``, which must not be negative."""
        if amount < 0:
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        self._value += amount


class _LockedCounterChild(_CounterChild):
    # The locked children call their base's methods by name: super() would
    # cost more than the update.
    __slots__ = ("_lock",)

    def __init__(self, family: CounterFamily, labelvalues: tuple[str, ...]) -> None:
        super().__init__(family, labelvalues)
        self._lock = threading.Lock()

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``, which must not be negative."""
        with self._lock:
            _CounterChild.inc(self, amount)


class CounterFamily(_Family[_CounterChild]):
    """A counter; ``name`` is without ``_total``, which its samples carry.

    Args:
        name: The metric name.
        documentation: The help text.
        labelnames: The label names, in the order ``labels()`` takes values.
        locked: Take a lock on every update; defaults to
            :func:`updates_need_locks`.

    Raises:
        ValueError: prometheus-client would refuse the name or a label name.
    """

    kind = "counter"

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *, locked: bool | None = None
    ) -> None:
        prometheus_client.Counter(name, documentation, labelnames, registry=None)
        super().__init__(name, documentation, labelnames, updates_need_locks() if locked is None else locked)

    def inc(self, amount: float = 1) -> None:
        """Refused: a family with labels is updated through ``labels()``."""
        raise self._unlabelled()

    def _new_child(self, labelvalues: tuple[str, ...]) -> _CounterChild:
        return (_LockedCounterChild if self._locked else _CounterChild)(self, labelvalues)

    def _samples(
        self, out: list[Sample], child: _CounterChild, labels: dict[str, str], created: bool
    ) -> None:
        out.append(Sample(self.name + "_total", labels, child._value))
        if created:
            out.append(Sample(self.name + "_created", labels, child._created))


class _GaugeChild(_Child):
    __slots__ = ("_value",)

    def __init__(self, family: GaugeFamily, labelvalues: tuple[str, ...]) -> None:
        super().__init__(family, labelvalues)
        self._value = 0.0

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``."""
        self._value += amount

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount``."""
        self._value -= amount

    def set(self, value: float) -> None:
        """Set the value."""
        self._value = float(value)


class _LockedGaugeChild(_GaugeChild):
    __slots__ = ("_lock",)

    def __init__(self, family: GaugeFamily, labelvalues: tuple[str, ...]) -> None:
        super().__init__(family, labelvalues)
        self._lock = threading.Lock()

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``."""
        with self._lock:
            _GaugeChild.inc(self, amount)

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount``."""
        with self._lock:
            _GaugeChild.dec(self, amount)

    def set(self, value: float) -> None:
        """Set the value."""
        with self._lock:
            _GaugeChild.set(self, value)


class GaugeFamily(_Family[_GaugeChild]):
    """A gauge.

    Args:
        name: The metric name.
        documentation: The help text.
        labelnames: The label names, in the order ``labels()`` takes values.
        locked: Take a lock on every update; defaults to
            :func:`updates_need_locks`.

    Raises:
        ValueError: prometheus-client would refuse the name or a label name.
    """

    kind = "gauge"

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *, locked: bool | None = None
    ) -> None:
        prometheus_client.Gauge(name, documentation, labelnames, registry=None)
        super().__init__(name, documentation, labelnames, updates_need_locks() if locked is None else locked)

    def inc(self, amount: float = 1) -> None:
        """Refused: a family with labels is updated through ``labels()``."""
        raise self._unlabelled()

    def dec(self, amount: float = 1) -> None:
        """Refused: a family with labels is updated through ``labels()``."""
        raise self._unlabelled()

    def set(self, value: float) -> None:
        """Refused: a family with labels is updated through ``labels()``."""
        raise self._unlabelled()

    def _new_child(self, labelvalues: tuple[str, ...]) -> _GaugeChild:
        return (_LockedGaugeChild if self._locked else _GaugeChild)(self, labelvalues)

    def _samples(self, out: list[Sample], child: _GaugeChild, labels: dict[str, str], created: bool) -> None:
        out.append(Sample(self.name, labels, child._value))


class _HistogramChild(_Child):
    __slots__ = ("_bounds", "_counts", "_sum")

    def __init__(self, family: HistogramFamily, labelvalues: tuple[str, ...]) -> None:
        super().__init__(family, labelvalues)
        self._bounds = family.bounds
        self._counts = [0] * len(family.bounds)
        self._sum = 0.0

    def observe(self, amount: float) -> None:
        """Record one value."""
        self._sum += amount
        # NaN is in no bucket, as with prometheus-client; bisect would put it in the first.
        if amount == amount:
            self._counts[bisect_left(self._bounds, amount)] += 1


class _LockedHistogramChild(_HistogramChild):
    __slots__ = ("_lock",)

    def __init__(self, family: HistogramFamily, labelvalues: tuple[str, ...]) -> None:
        super().__init__(family, labelvalues)
        self._lock = threading.Lock()

    def observe(self, amount: float) -> None:
        """Record one value."""
        with self._lock:
            _HistogramChild.observe(self, amount)


class HistogramFamily(_Family[_HistogramChild]):
    """A histogram with fixed buckets.

    Args:
        name: The metric name.
        documentation: The help text.
        labelnames: The label names, in the order ``labels()`` takes values.
        buckets: The buckets' upper bounds, ascending; ``+Inf`` is added
            when missing.
        locked: Take a lock on every update; defaults to
            :func:`updates_need_locks`.

    Raises:
        ValueError: prometheus-client would refuse the name, a label name
            (``le`` included) or the buckets.
    """

    kind = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        *,
        locked: bool | None = None,
    ) -> None:
        prometheus_client.Histogram(name, documentation, labelnames, buckets=buckets, registry=None)
        bounds = [float(bound) for bound in buckets]
        if bounds[-1] != float("inf"):
            bounds.append(float("inf"))
        self.bounds = bounds
        self._les = [floatToGoString(bound) for bound in bounds]  # type: ignore[no-untyped-call]
        super().__init__(name, documentation, labelnames, updates_need_locks() if locked is None else locked)

    def observe(self, amount: float) -> None:
        """Refused: a family with labels is updated through ``labels()``."""
        raise self._unlabelled()

    def _new_child(self, labelvalues: tuple[str, ...]) -> _HistogramChild:
        return (_LockedHistogramChild if self._locked else _HistogramChild)(self, labelvalues)

    def _samples(
        self, out: list[Sample], child: _HistogramChild, labels: dict[str, str], created: bool
    ) -> None:
        cumulative = 0.0
        for le, count in zip(self._les, child._counts.copy(), strict=True):
            cumulative += count
            out.append(Sample(self.name + "_bucket", {**labels, "le": le}, cumulative))
        out.append(Sample(self.name + "_count", labels, cumulative))
        # prometheus-client leaves the sum out when a bucket is below zero.
        if self.bounds[0] >= 0:
            out.append(Sample(self.name + "_sum", labels, child._sum))
        if created:
            out.append(Sample(self.name + "_created", labels, child._created))


class ServedRecorder(Protocol):
    """What one served request records in the metrics of its label set, in one call."""

    def record(self, seconds: float, received: int, sent: int) -> None:
        """Count the request, observe its duration and body sizes, and take it off the in-flight gauge."""
        ...


def served_recorder(
    count: Any, duration: Any, request_size: Any, response_size: Any, in_flight: Any
) -> ServedRecorder:
    """The recorder of these children: counter, duration, size histograms and in-flight gauge.

    Lock-free children here are updated inline, with the statements of their
    own methods (the module's thread-safety argument holds for each); any
    other children (locked, or prometheus-client's in multi-process mode)
    through their methods.
    """
    inline = (
        type(count) is _CounterChild
        and type(in_flight) is _GaugeChild
        and all(type(child) is _HistogramChild for child in (duration, request_size, response_size))
    )
    recorder = _InlineRecorder if inline else _MethodRecorder
    return recorder(count, duration, request_size, response_size, in_flight)


class _MethodRecorder:
    __slots__ = ("_count", "_duration", "_in_flight", "_request_size", "_response_size")

    def __init__(
        self, count: Any, duration: Any, request_size: Any, response_size: Any, in_flight: Any
    ) -> None:
        self._count = count
        self._duration = duration
        self._request_size = request_size
        self._response_size = response_size
        self._in_flight = in_flight

    def record(self, seconds: float, received: int, sent: int) -> None:
        self._count.inc()
        self._duration.observe(seconds)
        self._request_size.observe(received)
        self._response_size.observe(sent)
        self._in_flight.dec()


class _InlineRecorder(_MethodRecorder):
    _count: _CounterChild
    _duration: _HistogramChild
    _request_size: _HistogramChild
    _response_size: _HistogramChild
    _in_flight: _GaugeChild

    def record(self, seconds: float, received: int, sent: int) -> None:
        # _CounterChild.inc(1), _HistogramChild.observe (three times), _GaugeChild.dec(1), without the calls.
        self._count._value += 1
        duration = self._duration
        duration._sum += seconds
        if seconds == seconds:
            duration._counts[bisect_left(duration._bounds, seconds)] += 1
        # Sizes are ints, never NaN: in a bucket each.
        size = self._request_size
        size._sum += received
        size._counts[bisect_left(size._bounds, received)] += 1
        size = self._response_size
        size._sum += sent
        size._counts[bisect_left(size._bounds, sent)] += 1
        self._in_flight._value -= 1


# prometheus-client's ``_created`` switch (PROMETHEUS_DISABLE_CREATED_SERIES,
# disable_created_metrics()) has no public getter: a counter of prometheus-
# client's own, in no registry, answers through the public API, once per
# family and scrape.
_CREATED_PROBE = prometheus_client.Counter("microlib_created_probe", "", registry=None)


def _created_series_on() -> bool:
    return any(
        sample.name.endswith("_created") for metric in _CREATED_PROBE.collect() for sample in metric.samples
    )
