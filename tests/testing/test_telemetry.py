"""TestService's telemetry: spans, metrics and log lookups that explain a miss."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from microlib import Service
from microlib.testing import TestService


def hello_service() -> Service:
    service = Service("hello-telemetry")

    @service.http.route("/hello")
    async def hello(request: Request) -> dict[str, Any]:
        return {"hello": "world"}

    return service


async def test_spans_metrics_and_logs_of_a_request() -> None:
    """One request is one server span, one count and one access line, each found by name."""
    async with TestService(hello_service()) as t:
        assert (await t.http.get("/hello")).status_code == 200
        assert t.metric("http_server_requests_total", method="GET", route="/hello", status="200") == 1.0
        assert t.metric("http_server_requests_total", method="GET", route="/nowhere", status="200") is None
    span = t.spans.one("GET /hello")
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 200
    [access] = t.logged("http request", path="/hello")
    assert access["status"] == 200
    assert t.logged("http request", path="/nowhere") == []


async def test_a_missing_span_names_the_spans_that_finished() -> None:
    async with TestService(hello_service()) as t:
        await t.http.get("/hello")
    with pytest.raises(
        AssertionError, match=r"expected one span named 'GET /bye', found 0; finished: \['GET /hello'\]"
    ):
        t.spans.one("GET /bye")
    t.spans.clear()
    assert t.spans.all() == []


async def test_with_tracing_off_no_span_is_collected() -> None:
    async with TestService(hello_service(), overrides=["tracing.enabled=false"]) as t:
        await t.http.get("/hello")
    assert t.spans.all() == []


@pytest.mark.parametrize("prefix", ["/health", "/probes/"])
async def test_the_probes_are_counted_but_neither_traced_nor_access_logged(prefix: str) -> None:
    """A kubelet asks each probe every few seconds: the four probe paths under `health.path` are
    counted like any request, and make no span and no access line (only `/health` itself was left
    out; `/health/ready` and the others were traced and logged)."""
    probes = [prefix.rstrip("/") + suffix for suffix in ("", "/live", "/ready", "/startup")]
    async with TestService(hello_service(), overrides=[f"health.path={prefix}"]) as t:
        for path in probes:
            assert (await t.http.get(path)).status_code == 200
        assert (await t.http.get("/hello")).status_code == 200
        for path in probes:
            assert t.metric("http_server_requests_total", method="GET", route=path, status="200") == 1.0
    assert [span.name for span in t.spans.all()] == ["GET /hello"]
    assert [line["path"] for line in t.logged("http request")] == ["/hello"]
