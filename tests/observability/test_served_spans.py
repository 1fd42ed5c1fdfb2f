"""A call's span through the lean tracer's fast path is the one the tracer API's general path makes.

The tracing interceptor serves a call with the lean tracer (the service's
own) in fewer steps than the OpenTelemetry API takes; given any other tracer
(here the SDK's), it takes the API's general path: ``start_span``,
``set_span_in_context``, ``attach``, ``set_attributes`` and ``end``. Each
test runs the same call through the default chain both ways, from the same
seed of ``random`` (both draw their ids from it in the same order), and
compares everything the call leaves behind: the exported spans field by
field, what the handler saw (current span, baggage, outgoing headers, its
log line, a child span), ``ctx.attributes`` and trailers, the outcome, the
log lines and metrics, and the contexts restored afterwards.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import structlog
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from microlib.config.model import Settings
from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import Error, NotFound
from microlib.grpc.deadline import DeadlineInterceptor
from microlib.observability import Observability, ServiceIdentity, Tracing, start_span
from microlib.observability._lean_tracer import LeanTracer
from microlib.observability.identity import _current as _serving
from tests.observability.helpers import json_lines
from tests.observability.test_interceptors import _samples
from tests.observability.test_lean_tracer import _fields

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"

METADATA: dict[str, dict[str, str]] = {
    "none": {},
    "request id": {"x-request-id": "req-7", "user-agent": "grpc-go/1.72.0"},
    "forged request id": {"x-request-id": "a b"},
    "sampled parent": {"traceparent": f"00-{TRACE}-{PARENT}-01"},
    "unsampled parent": {"traceparent": f"00-{TRACE}-{PARENT}-00"},
    "random-id parent": {"traceparent": f"00-{TRACE}-{PARENT}-03"},
    "parent with state": {"traceparent": f"00-{TRACE}-{PARENT}-01", "tracestate": "vendor=v1,other=o"},
    "parent and baggage": {"traceparent": f"00-{TRACE}-{PARENT}-01", "baggage": "tenant=acme,tier=gold"},
    "baggage alone": {"baggage": "tenant=acme"},
    "malformed parent": {"traceparent": f"00-{TRACE}-{PARENT}"},
    "zero parent": {"traceparent": f"00-{'0' * 32}-{PARENT}-01"},
    "future version": {"traceparent": f"01-{TRACE}-{PARENT}-01-extra"},
}


async def _ok(ctx: CallContext) -> str:
    return "ok"


async def _not_found(ctx: CallContext) -> None:
    raise NotFound("no order 7")


async def _crash(ctx: CallContext) -> None:
    raise ZeroDivisionError("cannot divide the ledger")


async def _slow(ctx: CallContext) -> None:
    await asyncio.sleep(5)


OUTCOMES: dict[str, Callable[[CallContext], Awaitable[Any]]] = {
    "ok": _ok,
    "not found": _not_found,
    "crash": _crash,
    "deadline": _slow,
}


def _general_tracer(obs: Observability, ratio: float) -> tuple[trace.Tracer, InMemorySpanExporter]:
    """The SDK's tracer with the service's resource, sampler and scope: the API's general path."""
    assert obs.tracing.provider is not None
    provider = TracerProvider(
        resource=obs.tracing.provider.resource,
        sampler=ParentBased(TraceIdRatioBased(ratio)),
        shutdown_on_exit=False,
    )
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("microlib", obs.identity.version), exporter


def _without_times(line: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in line.items() if key not in ("timestamp", "duration_ms")}


def _counts(obs: Observability) -> dict[Any, float]:
    """The call metrics that do not depend on timing: counts and in-flight gauges."""
    return {
        key: value
        for key, value in _samples(obs).items()
        if key[0].startswith(("rpc_", "messaging_", "job_"))
        and not key[0].endswith(("_sum", "_bucket", "_created"))
    }


async def _serve(
    general: bool, kind: str, metadata: dict[str, str], outcome: str, ratio: float, seed: int
) -> dict[str, Any]:
    """One call through the default chain; everything it leaves behind."""
    settings = Settings.model_validate(
        {
            "logging": {"format": "json", "level": "INFO"},
            "tracing": {"sample_ratio": ratio, "exporter": "none"},
        }
    )
    stream = io.StringIO()
    obs = Observability(
        settings, ServiceIdentity("orders", version="2.0", instance_id="i-1"), log_stream=stream
    )
    if general:
        obs.tracing.tracer, exporter = _general_tracer(obs, ratio)
    else:
        assert obs.tracing.provider is not None
        assert isinstance(obs.tracing.tracer, LeanTracer)
        exporter = InMemorySpanExporter()
        obs.tracing.provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen: dict[str, Any] = {}
    handler = OUTCOMES[outcome]

    async def observed(ctx: CallContext) -> Any:
        seen["span"] = trace.get_current_span().get_span_context()
        seen["baggage"] = dict(baggage.get_all())
        carrier: dict[str, str] = {}
        Tracing.inject(carrier)
        seen["outgoing"] = carrier
        structlog.get_logger("demo").info("inside", step=1)
        with start_span("child", attributes={"step": 1}):
            pass
        return await handler(ctx)

    interceptors = [*obs.interceptors().values(), DeadlineInterceptor()]
    deadline = time.monotonic() + (0.02 if outcome == "deadline" else 30)
    ctx = CallContext(kind, "shop.v1.Orders", "GetOrder", dict(metadata), deadline)  # type: ignore[arg-type]
    before = otel_context.get_current()
    random.seed(seed)
    try:
        result: Any = await compose(interceptors, observed)(ctx)
    except Error as exc:
        result = (type(exc).__name__, exc.code, exc.message, dict(exc.metadata))
    seen["restored"] = (otel_context.get_current() is before, _serving.get())
    await obs.stop()
    return {
        "result": result,
        "seen": seen,
        "spans": [_fields(span, times=False) for span in exporter.get_finished_spans()],
        "attributes": dict(ctx.attributes),
        "trailers": ctx.response_trailers,
        "response metadata": ctx.response_metadata,
        "lines": [_without_times(line) for line in json_lines(stream)],
        "metrics": _counts(obs),
    }


async def _compare(kind: str, metadata: str, outcome: str, ratio: float, seed: int) -> None:
    lean = await _serve(False, kind, METADATA[metadata], outcome, ratio, seed)
    general = await _serve(True, kind, METADATA[metadata], outcome, ratio, seed)
    # Reported key by key: a difference names the part that differs.
    for key in general:
        assert lean[key] == general[key], key


@pytest.mark.parametrize(("metadata", "outcome"), list(itertools.product(METADATA, OUTCOMES)))
async def test_a_grpc_call_leaves_what_the_general_path_leaves(metadata: str, outcome: str) -> None:
    """Every caller context (none, sampled or not, trace state, baggage, malformed) and every
    outcome (success, an Error, a crash, a deadline), sampled at ratio 1."""
    await _compare("grpc", metadata, outcome, 1.0, seed=11)


@pytest.mark.parametrize("kind", ["message", "job"])
@pytest.mark.parametrize("outcome", list(OUTCOMES))
async def test_messages_and_jobs_leave_what_the_general_path_leaves(kind: str, outcome: str) -> None:
    """Consumer and internal spans, with and without a caller's context."""
    await _compare(kind, "parent and baggage", outcome, 1.0, seed=5)
    await _compare(kind, "none", outcome, 1.0, seed=6)


@pytest.mark.parametrize("ratio", [0.0, 0.5])
@pytest.mark.parametrize("metadata", ["none", "sampled parent", "unsampled parent", "parent and baggage"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_sampling_leaves_what_the_general_path_leaves(ratio: float, metadata: str, seed: int) -> None:
    """Roots sampled at the ratio or not, and parents deciding for their children, success and crash."""
    await _compare("grpc", metadata, "ok", ratio, seed)
    await _compare("grpc", metadata, "crash", ratio, seed)
