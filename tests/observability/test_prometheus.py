"""/metrics over real HTTP: standard metrics, exposition formats, promtool, registries, workers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from subprocess import PIPE
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from microlib import Service
from microlib.core.context import CallContext
from microlib.core.errors import FailedPrecondition, NotFound
from microlib.http import ManagementServer, edge_middleware, metrics_route
from microlib.observability import PrometheusMetrics
from microlib.testing import TestService
from tests.observability.helpers import build_app, chain_route, make_observability, serve


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a text exposition, keyed by name and label set."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _traffic(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for item in ("1", "2", "3"):
            assert (await client.get(f"/items/{item}")).status_code == 200
        assert (await client.get("/items/missing")).status_code == 404
        assert (await client.post("/items", content=b"x" * 300)).status_code == 200
        assert (await client.get("/nowhere")).status_code == 404


def _app() -> tuple[Any, Any]:
    obs, _ = make_observability("shop")

    async def get_item(request: Request, ctx: CallContext) -> dict[str, Any]:
        if request.path_params["id"] == "missing":
            raise NotFound("no such item")
        return {"id": request.path_params["id"]}

    async def create(request: Request, ctx: CallContext) -> dict[str, Any]:
        return {"size": len(await request.body())}

    routes = [chain_route(obs, "/items/{id}", get_item), chain_route(obs, "/items", create, methods=["POST"])]
    return obs, build_app(obs, routes)


class TestExposition:
    async def test_http_server_metrics_scraped_over_http(self) -> None:
        """Requests are counted by method, route template and status; sizes and in-flight exported."""
        _, app = _app()
        async with serve(app) as url:
            await _traffic(url)
            async with httpx.AsyncClient(base_url=url) as client:
                response = await client.get("/metrics")
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        values = samples(response.text)

        def count(method: str, route: str, status: str) -> float:
            labels = frozenset({"method": method, "route": route, "status": status}.items())
            return values[("http_server_requests_total", labels)]

        assert count("GET", "/items/{id}", "200") == 3
        assert count("GET", "/items/{id}", "404") == 1
        assert count("POST", "/items", "200") == 1
        assert count("GET", "unmatched", "404") == 1
        routes = {dict(labels).get("route") for name, labels in values if name.startswith("http_server_")}
        assert "/items/1" not in routes
        post = frozenset({"method": "POST", "route": "/items"}.items())
        assert values[("http_server_request_size_bytes_sum", post)] == 300
        assert values[("http_server_response_size_bytes_count", post)] == 1
        assert values[("http_server_requests_in_flight", frozenset({"method": "GET"}.items()))] == 1
        duration = frozenset({"method": "GET", "route": "/items/{id}", "status": "200"}.items())
        assert values[("http_server_request_duration_seconds_count", duration)] == 3
        info = {"service": "shop", "version": "1.2.3", "environment": "test"}
        assert values[("microlib_service_info", frozenset(info.items()))] == 1
        assert any(name == "process_resident_memory_bytes" for name, _ in values)
        assert any(name == "python_gc_objects_collected_total" for name, _ in values)

    async def test_request_size_is_the_declared_length_or_what_a_chunked_body_read(self) -> None:
        """A body of declared length counts as its ``Content-Length`` whether or not a route reads
        it (OpenTelemetry's ``http.server.request.body.size``); a chunked one as what was read."""
        _, app = _app()

        async def chunks() -> Any:
            yield b"y" * 100
            yield b"y" * 20

        async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
            # No route reads it: a 404.
            assert (await client.post("/nowhere", content=b"x" * 250)).status_code == 404
            # Read by the route, in chunks of no declared length.
            assert (await client.post("/items", content=chunks())).status_code == 200
            response = await client.get("/metrics")
        values = samples(response.text)
        unmatched = frozenset({"method": "POST", "route": "unmatched"}.items())
        assert values[("http_server_request_size_bytes_sum", unmatched)] == 250
        items = frozenset({"method": "POST", "route": "/items"}.items())
        assert values[("http_server_request_size_bytes_sum", items)] == 120

    async def test_openmetrics_negotiation(self) -> None:
        """A scraper asking for OpenMetrics gets it, ending in ``# EOF`` and parseable as such."""
        _, app = _app()
        async with serve(app) as url:
            await _traffic(url)
            async with httpx.AsyncClient(base_url=url) as client:
                response = await client.get(
                    "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
                )
        assert response.headers["content-type"].startswith("application/openmetrics-text")
        assert response.text.endswith("# EOF\n")
        names = {family.name for family in parse_openmetrics(response.text)}
        assert {"http_server_requests", "http_server_request_duration_seconds"} <= names

    async def test_exposition_passes_promtool(self, tmp_path: Path) -> None:
        """``promtool check metrics`` finds no problem in the scraped exposition."""
        _, app = _app()
        async with serve(app) as url:
            await _traffic(url)
            async with httpx.AsyncClient(base_url=url) as client:
                text = (await client.get("/metrics")).text
        promtool = await asyncio.create_subprocess_exec(
            "promtool", "check", "metrics", stdin=PIPE, stdout=PIPE, stderr=PIPE
        )
        async with asyncio.timeout(30):
            out, err = await promtool.communicate(text.encode())
        assert promtool.returncode == 0, (out + err).decode()
        assert out.strip() == b""

    async def test_management_port(self) -> None:
        """With ``metrics.port`` the exposition moves to its own server and off the service app."""
        service = Service("shop")
        async with TestService(service, overrides=["metrics.port=0", "metrics.host=127.0.0.1"]) as t:
            assert (await t.http.get("/metrics")).status_code == 404
            management = service.component("observability-management")
            assert isinstance(management, ManagementServer)
            assert await management.check() == {"port": management.port}
            async with httpx.AsyncClient() as client:
                response = await client.get(f"http://127.0.0.1:{management.port}/metrics")
        assert "microlib_service_info" in response.text

    async def test_management_port_in_use_is_an_error(self) -> None:
        """A port that cannot be bound fails the component's start instead of exiting the process."""
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            management = ManagementServer([], host="127.0.0.1", port=port)
            with pytest.raises(Exception, match="could not listen"):
                await management.start()
        finally:
            server.close()
            await server.wait_closed()


class TestRegistry:
    def test_each_service_owns_its_registry(self) -> None:
        """Two registries in one process hold the same metric name independently."""
        first, second = PrometheusMetrics(), PrometheusMetrics()
        first.counter("jobs_total", "Jobs.").inc(2)
        second.counter("jobs_total", "Jobs.").inc(5)
        assert samples(first.exposition()[0].decode())[("jobs_total", frozenset())] == 2
        assert samples(second.exposition()[0].decode())[("jobs_total", frozenset())] == 5

    def test_same_metric_is_returned(self) -> None:
        """Asking twice returns the same metric; asking with other labels is refused."""
        metrics = PrometheusMetrics(process_metrics=False)
        gauge = metrics.gauge("queue_depth", "Depth.", ["queue"])
        assert metrics.gauge("queue_depth", "Depth.", ["queue"]) is gauge
        with pytest.raises(FailedPrecondition, match="queue_depth"):
            metrics.histogram("queue_depth", "Depth.", ["queue"])

    def test_multiprocess_mode_aggregates_workers(self, tmp_path: Path) -> None:
        """With PROMETHEUS_MULTIPROC_DIR, a scrape in any process sums every worker's counts."""
        worker = textwrap.dedent(
            """
            from microlib.observability import PrometheusMetrics
            metrics = PrometheusMetrics()
            metrics.counter("work_done_total", "Work.", ["kind"]).labels("a").inc(3)
            metrics.gauge("busy", "Busy workers.").inc()
            metrics.mark_process_dead()
            """
        )
        scrape = (
            "from microlib.observability import PrometheusMetrics\n"
            "print(PrometheusMetrics().exposition()[0].decode())"
        )
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
        for _ in range(2):
            subprocess.run([sys.executable, "-c", worker], env=env, check=True, timeout=60)
        out = subprocess.run(
            [sys.executable, "-c", scrape], env=env, check=True, timeout=60, capture_output=True, text=True
        ).stdout
        values = samples(out)
        assert values[("work_done_total", frozenset({"kind": "a"}.items()))] == 6
        assert ("busy", frozenset()) not in values or values[("busy", frozenset())] == 0

    async def test_metrics_route_alone(self) -> None:
        """``metrics_route`` serves any registry from a plain Starlette app."""
        from starlette.applications import Starlette

        metrics = PrometheusMetrics(process_metrics=False)
        metrics.counter("pings", "Pings.").inc()
        app = Starlette(routes=[metrics_route(metrics, "/m")])
        async with serve(app) as url, httpx.AsyncClient() as client:
            text = (await client.get(f"{url}/m")).text
        assert samples(text)[("pings_total", frozenset())] == 1


async def test_route_templates_through_mounts() -> None:
    """Mounted routers and apps are labelled by their templates, never by concrete paths."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route
    from starlette.types import Receive, Scope, Send

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def files(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("file")(scope, receive, send)

    obs, _ = make_observability("shop")
    routes = [
        Mount("/api", routes=[Route("/items/{id}", ok)]),
        Mount("/v{version}", routes=[Route("/ping", ok)]),
        Mount("/static", app=files),
    ]
    app = Starlette(routes=routes, middleware=[edge_middleware(obs)])
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        for path in ("/api/items/1", "/api/items/2", "/v2/ping", "/v3/ping", "/static/css/site.css"):
            assert (await client.get(path)).status_code == 200
    routes_seen = {
        dict(labels)["route"]: value
        for (name, labels), value in samples(obs.metrics.exposition()[0].decode()).items()
        if name == "http_server_requests_total"
    }
    assert routes_seen == {"/api/items/{id}": 2, "/v{version}/ping": 2, "/static/{path}": 1}
