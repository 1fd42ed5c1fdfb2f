"""CPU cost of one server span: opentelemetry-sdk's tracer against microlib's lean tracer.

Both make the HTTP edge's span: start with 8 attributes, rename it once the
route is known, set 3 more attributes, end. Both tracers sample everything
(``ParentBased(TraceIdRatioBased(1.0))``) and feed a ``BatchSpanProcessor``
whose exporter drops the spans, so the batching thread's work is counted and
the export is not. Rounds are interleaved and measured in process CPU time
(all threads), so the figures hold on a busy machine. ``lean, validated``
passes the attributes as a plain dict, as user code does, so every value
goes through the SDK's validation; ``lean`` passes them as the edge does.
The ``unsampled`` pair samples nothing (ratio 0): the cost of a span that is
only a context to propagate.
Usage::

    PYTHONPATH=$PWD python bench/observability/bench_spans.py --spans 20000 --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.util.types import AttributeValue

from microlib.config.model import TracingSettings
from microlib.observability import ServiceIdentity, Tracing
from microlib.observability._lean_span import FrameworkAttributes

_START = {
    "http.request.method": "GET",
    "url.path": "/hello/world",
    "url.scheme": "http",
    "network.protocol.version": "1.1",
    "server.address": "127.0.0.1",
    "server.port": 8080,
    "client.address": "127.0.0.1",
    "user_agent.original": "bench",
}
_FINISH = {
    "microlib.method": "bench//hello/{name}",
    "http.route": "/hello/{name}",
    "http.response.status_code": 200,
}


class _Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _edge_pattern(
    tracer: trace.Tracer,
    start: Callable[[], Mapping[str, AttributeValue]],
    finish: Callable[[], Mapping[str, AttributeValue]],
) -> Callable[[int], float]:
    def run(spans: int) -> float:
        begin = time.process_time()
        for _ in range(spans):
            span = tracer.start_span("GET", kind=trace.SpanKind.SERVER, attributes=start())
            span.update_name("GET /hello/{name}")
            span.set_attributes(finish())
            span.end()
        return (time.process_time() - begin) / spans * 1e6

    return run


def _tracers(settings: TracingSettings) -> tuple[trace.Tracer, Tracing]:
    identity = ServiceIdentity("bench", version="1.0", environment="bench")
    lean = Tracing(settings, identity, exporter=_Drop())
    assert lean.provider is not None
    # The SDK's own tracer, configured as Tracing configured it before the lean tracer.
    provider = TracerProvider(
        resource=lean.provider.resource,
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(
        BatchSpanProcessor(
            _Drop(),
            max_queue_size=settings.max_queue_size,
            max_export_batch_size=min(settings.max_export_batch_size, settings.max_queue_size),
            schedule_delay_millis=settings.schedule_delay * 1000,
            export_timeout_millis=settings.timeout * 1000,
        )
    )
    return provider.get_tracer("microlib", identity.version), lean


def main() -> None:
    """Parse arguments, run the interleaved rounds, print medians and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    # A queue that never fills: a full queue drops spans, which would favour
    # whichever tracer fills it faster.
    queue = args.spans * 2
    sdk, lean = _tracers(TracingSettings(enabled=True, exporter="none", max_queue_size=queue))
    sdk_off, lean_off = _tracers(
        TracingSettings(enabled=True, exporter="none", sample_ratio=0.0, max_queue_size=queue)
    )

    def framework() -> FrameworkAttributes:
        return FrameworkAttributes(_START)

    def finish() -> FrameworkAttributes:
        return FrameworkAttributes(_FINISH)

    # name: (the SDK run it is compared with, the run)
    runs = {
        "sdk": ("sdk", _edge_pattern(sdk, lambda: dict(_START), lambda: dict(_FINISH))),
        "lean": ("sdk", _edge_pattern(lean.tracer, framework, finish)),
        "lean, validated": ("sdk", _edge_pattern(lean.tracer, lambda: dict(_START), lambda: dict(_FINISH))),
        "sdk, unsampled": (
            "sdk, unsampled",
            _edge_pattern(sdk_off, lambda: dict(_START), lambda: dict(_FINISH)),
        ),
        "lean, unsampled": ("sdk, unsampled", _edge_pattern(lean_off.tracer, framework, finish)),
    }
    results: dict[str, list[float]] = {name: [] for name in runs}
    for _, run in runs.values():
        run(2000)
    for _ in range(args.rounds):
        for name, (_, run) in runs.items():
            results[name].append(run(args.spans))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"median of {args.rounds} interleaved rounds of {args.spans} spans; CPU us per span (edge pattern)")
    for name, (peer, _) in runs.items():
        ratio = "" if peer == name else f"   {medians[peer] / medians[name]:5.2f}x faster than {peer}"
        print(f"{name:>16} {medians[name]:7.2f} us{ratio}")


if __name__ == "__main__":
    main()
