"""Requests the framework answers itself tell the same story in every signal."""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry.trace import StatusCode
from starlette.requests import Request

from microlib import Service
from microlib.core.errors import CANCELLED_BY_DEADLINE, CANCELLED_BY_SHUTDOWN, Code
from microlib.observability.outcome import outcome_code, server_fault
from microlib.testing import TestService


def slow_service() -> Service:
    service = Service("slow-telemetry")

    @service.http.route("/slow")
    async def slow(request: Request) -> dict[str, Any]:
        await asyncio.sleep(10)
        return {}

    return service


async def test_a_timeout_504_is_an_error_line_with_the_callers_correlation_id() -> None:
    """The timeout's 504 is logged at error (the access line, and one line
    naming the request) and its problem carries the correlation id those
    lines carry (it used to be logged at info, without one)."""
    async with TestService(slow_service(), overrides=["http_middleware.request_timeout=0.05"]) as t:
        response = await t.http.get("/slow")
    assert response.status_code == 504
    correlation = response.json()["correlation_id"]
    [timed_out] = [e for e in t.logs if e["event"] == "request timed out"]
    assert (timed_out["level"], timed_out["correlation_id"], timed_out["path"]) == (
        "error",
        correlation,
        "/slow",
    )
    [access] = [e for e in t.logs if e["event"] == "http request" and e["path"] == "/slow"]
    assert (access["level"], access["status"]) == ("error", 504)


def test_the_frameworks_cancellations_name_their_outcome() -> None:
    """A call cancelled by its time budget ended DEADLINE_EXCEEDED, by the
    drain UNAVAILABLE (both server faults: an error span); any other
    cancellation is the caller's CANCELLED, not a fault."""
    deadline = asyncio.CancelledError(CANCELLED_BY_DEADLINE)
    shutdown = asyncio.CancelledError(CANCELLED_BY_SHUTDOWN)
    other = asyncio.CancelledError()
    assert [outcome_code(e) for e in (deadline, shutdown, other)] == [
        "DEADLINE_EXCEEDED",
        "UNAVAILABLE",
        "CANCELLED",
    ]
    assert [server_fault(e) for e in (deadline, shutdown, other)] == [True, True, False]


async def test_a_timeout_504_ends_its_server_span_deadline_exceeded() -> None:
    """The request's server span records the timeout as the body names it:
    an error status saying DEADLINE_EXCEEDED (it used to say CANCELLED)."""
    async with TestService(slow_service(), overrides=["http_middleware.request_timeout=0.05"]) as t:
        response = await t.http.get("/slow")
    assert response.status_code == 504
    assert response.json()["code"] == "DEADLINE_EXCEEDED"
    span = t.spans.one("GET /slow")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 504
    assert span.attributes["microlib.code"] == Code.DEADLINE_EXCEEDED.name
    assert t.metric("http_server_requests_total", method="GET", route="/slow", status="504") == 1.0
