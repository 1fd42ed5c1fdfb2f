"""microlib's metric families against prometheus-client's: same exposition, same errors, no lost updates."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import prometheus_client
import pytest
from prometheus_client.exposition import choose_encoder
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from microlib.observability import PrometheusMetrics
from microlib.observability._families import CounterFamily, GaugeFamily, HistogramFamily, served_recorder

_OPENMETRICS = "application/openmetrics-text; version=1.0.0"


class _ClientMetrics:
    """prometheus-client's own metrics in a registry, declared as PrometheusMetrics declares them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Any:
        return prometheus_client.Counter(name, documentation, labelnames, registry=self.registry)

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Any:
        return prometheus_client.Gauge(name, documentation, labelnames, registry=self.registry)

    def histogram(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), buckets: Sequence[float] = ()
    ) -> Any:
        return prometheus_client.Histogram(
            name, documentation, labelnames, buckets=buckets, registry=self.registry
        )

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


def _record(metrics: Any) -> None:
    """The same declarations and updates, whichever implementation records them."""
    jobs = metrics.counter("jobs_total", 'Jobs "done"\\ here.\nSecond line.', ["kind", "queue"])
    jobs.labels("a", "q1").inc()
    jobs.labels("a", "q1").inc(2.5)
    jobs.labels(queue='q"2\n', kind="b").inc(0)
    jobs.labels(1, 2).inc(3)
    metrics.counter("pings", "Unlabelled.").inc(7)
    metrics.counter("never_counted", "Declared only.", ["x"])
    depth = metrics.gauge("depth", "Depth.", ["queue"])
    depth.labels("x").inc()
    depth.labels("x").inc(4)
    depth.labels("x").dec(1.5)
    depth.labels("y").set(-2)
    depth.labels("z").dec()
    metrics.gauge("temperature", "Unlabelled.").set(36.6)
    latency = metrics.histogram("latency_seconds", "Latency.", ["route"], buckets=(0.005, 0.01, 0.5, 2.5))
    for value in (0.0, 0.005, 0.0051, 0.3, 2.5, 11, float("inf"), -1, 1e-9, float("nan")):
        latency.labels("/a").observe(value)
    latency.labels(route="/b").observe(0.02)
    sizes = metrics.histogram("size_bytes", "Sizes.", ["method"], buckets=(64.0, 4096.0, 4194304.0))
    for value in (0, 63, 64, 65, 4194304, 5e6):
        sizes.labels("GET").observe(value)
    metrics.histogram("below_zero", "A bucket below zero: no _sum.", buckets=(-1, 0, 1)).observe(-5)
    metrics.histogram("with_inf", "Ends in +Inf already.", buckets=(1, 2, float("inf"))).observe(1.5)
    metrics.histogram("never_observed", "Declared only.", ["x"], buckets=(1, 2))


def _masked(body: bytes) -> str:
    """The exposition with ``_created`` timestamps, the only difference allowed, replaced."""
    return re.sub(r"^(\w+_created(\{.*\})?) \S+$", r"\1 <t>", body.decode(), flags=re.MULTILINE)


@pytest.fixture(params=[True, False], ids=["created", "no-created"])
def created_series(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Both settings of prometheus-client's ``_created`` switch, restored afterwards."""
    if request.param:
        prometheus_client.enable_created_metrics()
    else:
        prometheus_client.disable_created_metrics()
    yield request.param
    prometheus_client.enable_created_metrics()


@pytest.mark.parametrize("accept", ["", _OPENMETRICS], ids=["text", "openmetrics"])
def test_exposition_is_prometheus_clients(accept: str, created_series: bool) -> None:
    """For the same updates the exposition is prometheus-client's, up to ``_created`` timestamps."""
    ours, theirs = PrometheusMetrics(process_metrics=False), _ClientMetrics()
    _record(ours)
    _record(theirs)
    body, content_type = ours.exposition(accept)
    expected_body, expected_type = theirs.exposition(accept)
    assert content_type == expected_type
    assert _masked(body) == _masked(expected_body)
    assert ("jobs_created{" in body.decode()) is created_series


def _declare(kind: str, labelnames: Sequence[str] = ("a", "b"), name: str = "m") -> Callable[[Any], Any]:
    def declare(metrics: Any) -> Any:
        if kind == "histogram":
            return metrics.histogram(name, "Help.", labelnames, buckets=(1.0, 2.0))
        return getattr(metrics, kind)(name, "Help.", labelnames)

    return declare


_MISUSES: dict[str, Callable[[Any], object]] = {
    "too few label values": lambda m: _declare("counter")(m).labels("x"),
    "too many label values": lambda m: _declare("gauge")(m).labels("x", "y", "z"),
    "no label values": lambda m: _declare("histogram")(m).labels(),
    "unknown label name": lambda m: _declare("counter")(m).labels(a="x", c="y"),
    "missing label name": lambda m: _declare("counter")(m).labels(a="x"),
    "values and names": lambda m: _declare("counter")(m).labels("x", b="y"),
    "labels of an unlabelled metric": lambda m: _declare("gauge", ())(m).labels("x"),
    "labels of a child": lambda m: _declare("counter")(m).labels("x", "y").labels("x", "y"),
    "labels of an unlabelled child": lambda m: _declare("histogram", ())(m).labels(),
    "counter without label values": lambda m: _declare("counter")(m).inc(),
    "gauge inc without label values": lambda m: _declare("gauge")(m).inc(),
    "gauge dec without label values": lambda m: _declare("gauge")(m).dec(),
    "gauge set without label values": lambda m: _declare("gauge")(m).set(1),
    "histogram without label values": lambda m: _declare("histogram")(m).observe(1),
    "negative counter increment": lambda m: _declare("counter")(m).labels("x", "y").inc(-1),
    "negative unlabelled increment": lambda m: _declare("counter", ())(m).inc(-0.5),
    "empty name": _declare("counter", (), name=""),
    "reserved label name": _declare("gauge", ("__a",)),
    "le on a histogram": _declare("histogram", ("le",)),
    "unsorted buckets": lambda m: m.histogram("h", "Help.", buckets=(2.0, 1.0)),
    "only +Inf": lambda m: m.histogram("h", "Help.", buckets=(float("inf"),)),
    "clashing names": lambda m: (m.counter("jobs", "Help."), m.gauge("jobs_created", "Help.")),
}


@pytest.mark.parametrize("misuse", list(_MISUSES), ids=list(_MISUSES))
def test_errors_are_prometheus_clients(misuse: str) -> None:
    """Misuse raises what prometheus-client raises, with the same message."""
    try:
        _MISUSES[misuse](_ClientMetrics())
    except Exception as error:
        expected = error
    else:
        pytest.fail(f"prometheus-client accepts it: {misuse}")
    with pytest.raises(type(expected), match=f"^{re.escape(str(expected))}$"):
        _MISUSES[misuse](PrometheusMetrics(process_metrics=False))


def test_children_are_cached_per_label_values() -> None:
    """One child per label values, whether given by position or name, as strings or not."""
    counter = PrometheusMetrics(process_metrics=False).counter("jobs", "Jobs.", ["kind", "code"])
    child = counter.labels("a", "200")
    assert counter.labels("a", "200") is child
    assert counter.labels(code="200", kind="a") is child
    assert counter.labels("a", 200) is child  # type: ignore[arg-type]
    assert counter.labels("a", "201") is not child


_THREADS, _UPDATES = 8, 50_000


def _hammer(update: Callable[[], None]) -> None:
    """``update`` from several threads at once, switching threads as often as the interpreter allows."""
    start = threading.Barrier(_THREADS)

    def work() -> None:
        start.wait()
        for _ in range(_UPDATES):
            update()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)


def _values(family: Any) -> dict[str, float]:
    return {sample.name: sample.value for metric in family.collect() for sample in metric.samples}


@pytest.mark.parametrize("locked", [None, True], ids=["default", "locked"])
class TestThreads:
    """Updates from many threads to one child all count, lock-free (CPython's GIL) or locked."""

    def test_counter(self, locked: bool | None) -> None:
        family = CounterFamily("jobs", "Jobs.", ["kind"], locked=locked)
        child = family.labels("a")
        _hammer(child.inc)
        assert _values(family)["jobs_total"] == _THREADS * _UPDATES

    def test_gauge(self, locked: bool | None) -> None:
        family = GaugeFamily("busy", "Busy.", ["kind"], locked=locked)
        child = family.labels("a")

        def up_and_half_down() -> None:
            child.inc(2)
            child.dec()

        _hammer(up_and_half_down)
        assert _values(family)["busy"] == _THREADS * _UPDATES

    def test_histogram(self, locked: bool | None) -> None:
        family = HistogramFamily("size", "Size.", ["kind"], (1.0, 2.0), locked=locked)
        child = family.labels("a")
        _hammer(lambda: child.observe(1.5))
        values = _values(family)
        assert values["size_count"] == values["size_sum"] / 1.5 == _THREADS * _UPDATES


def test_scrape_while_children_are_added() -> None:
    """Scraping while another thread adds children neither fails nor misses a child."""
    metrics = PrometheusMetrics(process_metrics=False)
    counter = metrics.counter("jobs", "Jobs.", ["n"])
    counter.labels("first").inc()
    children = 3_000

    def add_children() -> None:
        for n in range(children):
            counter.labels(str(n)).inc()

    writer = threading.Thread(target=add_children)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        writer.start()
        while writer.is_alive():
            assert 'jobs_total{n="first"} 1.0' in metrics.exposition()[0].decode()
    finally:
        writer.join()
        sys.setswitchinterval(interval)
    counted = [
        sample
        for family in text_string_to_metric_families(metrics.exposition()[0].decode())
        for sample in family.samples
        if sample.name == "jobs_total"
    ]
    assert len(counted) == children + 1


def _serve(metrics: Any, recorder: Callable[..., Any]) -> None:
    """Served requests' updates, through ``recorder`` made of the children of their labels."""
    count = metrics.counter("served", "Served.", ["method", "route", "status"])
    duration = metrics.histogram(
        "served_seconds", "Duration.", ["method", "route", "status"], (0.005, 0.1, 1)
    )
    received = metrics.histogram("received_bytes", "In.", ["method", "route"], (64.0, 4096.0))
    sent = metrics.histogram("sent_bytes", "Out.", ["method", "route"], (64.0, 4096.0))
    in_flight = metrics.gauge("in_flight", "In flight.", ["method"])
    requests = [
        ("GET", "/a", "200", 0.001, 0, 17),
        ("GET", "/a", "200", 0.005, 64, 4096),
        ("GET", "/a", "200", float("nan"), 65, 5_000_000),
        ("POST", "/a", "201", 0.3, 4096, 0),
        ("GET", "/b", "404", 7.0, 1, 1),
        ("GET", "/a", "200", float("inf"), 0, 0),
    ]
    for method, route, status, seconds, size_in, size_out in requests:
        in_flight.labels(method).inc()
        in_flight.labels(method).inc()  # another request of the method, still in flight
        record = recorder(
            count.labels(method, route, status),
            duration.labels(method, route, status),
            received.labels(method, route),
            sent.labels(method, route),
            in_flight.labels(method),
        )
        record.record(seconds, size_in, size_out)


class _Methods:
    """What a served recorder does, written as the children's own method calls."""

    def __init__(self, count: Any, duration: Any, received: Any, sent: Any, in_flight: Any) -> None:
        self.children = (count, duration, received, sent, in_flight)

    def record(self, seconds: float, size_in: int, size_out: int) -> None:
        count, duration, received, sent, in_flight = self.children
        count.inc()
        duration.observe(seconds)
        received.observe(size_in)
        sent.observe(size_out)
        in_flight.dec()


class _Families(_ClientMetrics):
    """microlib's families, locked or not, in a registry of their own."""

    def __init__(self, locked: bool) -> None:
        super().__init__()
        self.locked = locked

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Any:
        return self._registered(CounterFamily(name, documentation, labelnames, locked=self.locked))

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Any:
        return self._registered(GaugeFamily(name, documentation, labelnames, locked=self.locked))

    def histogram(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), buckets: Sequence[float] = ()
    ) -> Any:
        return self._registered(HistogramFamily(name, documentation, labelnames, buckets, locked=self.locked))

    def _registered(self, family: Any) -> Any:
        self.registry.register(family)
        return family


@pytest.mark.parametrize("locked", [False, True], ids=["inline", "locked"])
def test_a_served_recorder_records_what_the_childrens_methods_record(locked: bool) -> None:
    """One call per request (inline on lock-free children): prometheus-client's exposition for the same."""
    ours, theirs = _Families(locked), _ClientMetrics()
    _serve(ours, served_recorder)
    _serve(theirs, _Methods)
    assert _masked(ours.exposition()[0]) == _masked(theirs.exposition()[0])
    children = [ours.counter("c", "C.", ["x"]).labels("x")] + [
        ours.histogram("h", "H.", ["x"], (1,)).labels("x")
    ] * 3
    recorder = served_recorder(*children, ours.gauge("g", "G.", ["x"]).labels("x"))
    assert type(recorder).__name__ == ("_MethodRecorder" if locked else "_InlineRecorder")
