"""CPU cost of recording a metric: microlib's label children against prometheus-client's.

Both sides are declared as the HTTP edge declares its metrics (three labels;
the default latency buckets) and updated through a label child taken once,
as the edge and the interceptors do. Measured: counter ``inc``, gauge
``inc`` + ``dec`` (a request in flight), histogram ``observe`` (values
spread over the buckets), and ``labels()`` returning an existing child.
Rounds interleave every case, in rotating order, and time process CPU, so
the figures hold on a busy machine; the empty loop's cost is subtracted.
Usage::

    PYTHONPATH=$PWD python bench/observability/bench_metrics.py --ops 200000 --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import prometheus_client
from prometheus_client.registry import CollectorRegistry

from microlib.observability import PrometheusMetrics
from microlib.observability.prometheus import DEFAULT_BUCKETS

_LABELS = ("method", "route", "status")
_VALUES = ("GET", "/items/{id}", "200")
# Request durations from 0.4 ms to 80 s: a few in each bucket, some past the last.
_DURATIONS = [0.0004 * 1.9**i for i in range(20)]

Case = Callable[[list[float]], None]


def _cases(metrics: Any) -> dict[str, Case]:
    counter = metrics.counter("requests_total", "Requests.", _LABELS)
    gauge = metrics.gauge("in_flight", "In flight.", _LABELS)
    histogram = metrics.histogram("duration_seconds", "Duration.", _LABELS, buckets=DEFAULT_BUCKETS)
    inc = counter.labels(*_VALUES).inc
    up, down = gauge.labels(*_VALUES).inc, gauge.labels(*_VALUES).dec
    observe = histogram.labels(*_VALUES).observe
    labels = counter.labels

    def counter_inc(values: list[float]) -> None:
        for _ in values:
            inc()

    def gauge_inc_dec(values: list[float]) -> None:
        for _ in values:
            up()
            down()

    def histogram_observe(values: list[float]) -> None:
        for value in values:
            observe(value)

    def labels_lookup(values: list[float]) -> None:
        for _ in values:
            labels("GET", "/items/{id}", "200")

    return {
        "counter inc": counter_inc,
        "gauge inc+dec": gauge_inc_dec,
        "histogram observe": histogram_observe,
        "labels() of a child": labels_lookup,
    }


class _ClientMetrics:
    """prometheus-client's own metrics, declared as microlib declared them before."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)

    def counter(self, name: str, doc: str, labels: tuple[str, ...]) -> prometheus_client.Counter:
        return prometheus_client.Counter(name, doc, labels, registry=self.registry)

    def gauge(self, name: str, doc: str, labels: tuple[str, ...]) -> prometheus_client.Gauge:
        return prometheus_client.Gauge(name, doc, labels, registry=self.registry)

    def histogram(
        self, name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]
    ) -> prometheus_client.Histogram:
        return prometheus_client.Histogram(name, doc, labels, buckets=buckets, registry=self.registry)


def _empty(values: list[float]) -> None:
    for _ in values:
        pass


def _cpu_us(case: Case, values: list[float]) -> float:
    start = time.process_time()
    case(values)
    return (time.process_time() - start) / len(values) * 1e6


def main() -> None:
    """Parse arguments, run the rounds, print medians and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=200_000, help="operations per case and round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    values = (_DURATIONS * (args.ops // len(_DURATIONS) + 1))[: args.ops]
    sides = {
        "microlib": _cases(PrometheusMetrics(process_metrics=False)),
        "prometheus-client": _cases(_ClientMetrics()),
    }
    runs = [(side, name) for side, cases in sides.items() for name in cases]
    results: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    empty: list[float] = []
    for round_ in range(args.rounds):
        shift = round_ % len(runs)
        for side, name in runs[shift:] + runs[:shift]:
            results[side, name].append(_cpu_us(sides[side][name], values))
        empty.append(_cpu_us(_empty, values))
    loop = statistics.median(empty)
    print(
        f"median of {args.rounds} interleaved rounds of {args.ops} ops; CPU us per op, empty loop subtracted"
    )
    print(f"{'':22}{'microlib':>10}{'prom-client':>13}{'ratio':>8}")
    for name in sides["microlib"]:
        ours = statistics.median(results["microlib", name]) - loop
        theirs = statistics.median(results["prometheus-client", name]) - loop
        print(f"{name:22}{ours:10.3f}{theirs:13.3f}{theirs / ours:7.1f}x")


if __name__ == "__main__":
    main()
