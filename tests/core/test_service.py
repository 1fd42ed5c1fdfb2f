"""Service composition, probes and the shutdown choreography, in-process."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from microlib import Service
from microlib.config.errors import ConfigError
from microlib.core.errors import FieldViolation, InvalidArgument
from microlib.core.lifecycle import StartupError
from microlib.testing import TestService


class Dependency:
    """A component whose health, start and stop the test controls."""

    def __init__(self, name: str, journal: list[str] | None = None) -> None:
        self.name = name
        self.journal = journal if journal is not None else []
        self.healthy = True
        self.check_delay = 0.0
        self.start_gate: asyncio.Event | None = None
        self.checks = 0

    async def start(self) -> None:
        if self.start_gate is not None:
            await self.start_gate.wait()
        self.journal.append(f"start {self.name}")

    async def stop(self) -> None:
        self.journal.append(f"stop {self.name}")

    async def check(self) -> Mapping[str, Any] | None:
        self.checks += 1
        await asyncio.sleep(self.check_delay)
        if not self.healthy:
            raise ConnectionError("primary unreachable")
        return {"ok": True}


def test_invalid_service_name_is_rejected_with_the_rule() -> None:
    """A name that is not a DNS label fails at construction, saying why."""
    with pytest.raises(ValueError, match="invalid service identity: name: String should match pattern"):
        Service("Book Shop")


async def test_ready_follows_critical_dependencies_and_liveness_does_not() -> None:
    """A database outage fails readiness but not liveness (no pod restart)."""
    service = Service("shop")
    db = Dependency("db")
    service.add(db)
    async with TestService(service, overrides=["health.cache_ttl=0"]) as t:
        assert (await t.http.get("/health/ready")).status_code == 200
        db.healthy = False
        ready = await t.http.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["components"]["db"] == {
            "status": "DOWN",
            "critical": True,
            "error": "ConnectionError: primary unreachable",
            "duration_ms": ready.json()["components"]["db"]["duration_ms"],
        }
        assert (await t.http.get("/health/live")).status_code == 200
        db.healthy = True
        assert (await t.http.get("/health/ready")).status_code == 200


async def test_slow_check_times_out_instead_of_hanging_the_probe() -> None:
    """A check slower than health.check_timeout reports DOWN with the timeout."""
    service = Service("shop")
    db = Dependency("db")
    service.add(db)
    async with TestService(service, overrides=["health.check_timeout=0.05", "health.cache_ttl=0"]) as t:
        db.check_delay = 10
        body = (await t.http.get("/health")).json()
        assert body["status"] == "DOWN"
        assert body["components"]["db"]["error"] == "check timed out after 0.05s"


async def test_concurrent_probes_share_one_check_and_results_are_cached() -> None:
    """Ten simultaneous probes run the component's check once; the result is cached."""
    service = Service("shop")
    db = Dependency("db")
    service.add(db)
    async with TestService(service, overrides=["health.cache_ttl=60"]) as t:
        db.check_delay = 0.05
        before = db.checks
        responses = await asyncio.gather(*(t.http.get("/health/ready") for _ in range(10)))
        assert {r.status_code for r in responses} == {200}
        await t.http.get("/health/ready")
        assert db.checks - before <= 1


async def test_health_groups_from_config_override_registration() -> None:
    """health.groups moves a component into liveness; unknown names are errors."""
    service = Service("shop")
    db = Dependency("db")
    service.add(db)
    async with TestService(service, overrides=["health.cache_ttl=0"]) as t:
        pass
    service = Service("shop")
    worker = Dependency("worker")
    service.add(worker)
    config = ["health.cache_ttl=0", "health.groups.liveness=[worker]"]
    async with TestService(service, overrides=config, environ={}) as t:
        worker.healthy = False
        assert (await t.http.get("/health/live")).status_code == 503
    bad = Service("shop")
    bad.add(Dependency("db"))
    with pytest.raises(
        ConfigError, match=r"health.groups.readiness = \[dbb\] .*: names unknown component\(s\) \['dbb'\]"
    ):
        async with TestService(bad, overrides=["health.groups.readiness=[dbb]"]):
            pass


async def test_probes_during_startup_running_and_shutdown() -> None:
    """startup/ready are 503 while starting, 200 running, ready 503 while draining."""
    service = Service("shop")
    dep = Dependency("db")
    dep.start_gate = asyncio.Event()
    service.add(dep)
    service.configure(overrides=["http.enabled=false", "shutdown.drain_delay=0.3", "health.cache_ttl=0"])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://t")
    starting = asyncio.create_task(service.start())
    await asyncio.sleep(0.05)
    assert (await client.get("/health/startup")).status_code == 503
    assert (await client.get("/health/ready")).status_code == 503
    assert (await client.get("/health/live")).status_code == 200
    dep.start_gate.set()
    await starting
    assert (await client.get("/health/startup")).status_code == 200
    assert (await client.get("/health/ready")).status_code == 200
    stopping = asyncio.create_task(service.stop())
    await asyncio.sleep(0.1)
    ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["phase"] == "stopping"
    assert (await client.get("/health/live")).status_code == 200
    await stopping
    await client.aclose()


async def test_shutdown_order_drain_hooks_then_components_in_reverse() -> None:
    """Hooks run in order after draining, then components stop in reverse."""
    journal: list[str] = []
    service = Service("shop")
    for name in ("db", "cache"):
        service.add(Dependency(name, journal))

    @service.on_shutdown
    async def first() -> None:
        journal.append("hook 1")

    @service.on_shutdown
    async def failing() -> None:
        raise RuntimeError("flush failed")

    @service.on_shutdown
    async def last() -> None:
        journal.append("hook 3")

    async with TestService(service) as t:
        journal.clear()
    assert journal == ["hook 1", "hook 3", "stop cache", "stop db"]
    assert any(e["event"] == "shutdown hook failed" and e["error"] == "flush failed" for e in t.logs)


async def test_failed_start_names_component_and_stops_others() -> None:
    """A component failing at start raises StartupError; earlier ones are stopped."""
    journal: list[str] = []
    service = Service("shop")
    service.add(Dependency("db", journal))

    class Broker(Dependency):
        async def start(self) -> None:
            raise OSError("connection refused")

    service.add(Broker("broker", journal))
    with pytest.raises(StartupError, match="component 'broker' failed to start: OSError: connection refused"):
        async with TestService(service):
            pass
    assert journal == ["start db", "stop db"]


async def test_routes_run_through_the_chain_and_errors_are_problem_json() -> None:
    """A handler's Error becomes problem+json; unexpected errors never leak."""
    seen: list[str] = []

    class Spy:
        async def intercept(self, ctx: Any, call_next: Any) -> Any:
            seen.append(ctx.full_method)
            return await call_next(ctx)

    service = Service("shop", interceptors=[Spy()])

    @service.http.route("/items/{item_id}", methods=["POST"])
    async def create(request: Request) -> Any:
        raise InvalidArgument(
            "quantity must be positive", violations=[FieldViolation("quantity", "must be > 0", "gt")]
        )

    @service.http.route("/crash")
    async def crash(request: Request) -> Any:
        raise KeyError("secret internal detail")

    async with TestService(service) as t:
        r = await t.http.post("/items/7")
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["violations"] == [{"field": "quantity", "description": "must be > 0", "rule": "gt"}]
        crash_response = await t.http.get("/crash")
        assert crash_response.status_code == 500
        assert "secret" not in crash_response.text
        assert (await t.http.get("/nope")).json()["code"] == "NOT_FOUND"
        assert (await t.http.delete("/items/7")).status_code == 405
        bad_timeout = await t.http.post("/items/7", headers={"x-request-timeout": "soon"})
        assert bad_timeout.json()["violations"][0]["field"] == "header.x-request-timeout"
    # The bad deadline header is refused inside the chain, after access is decided.
    assert seen == ["http//items/{item_id}", "http//crash", "http//items/{item_id}"]


async def test_route_headers_from_call_metadata_replace_and_survive_non_latin1_values() -> None:
    """A plain route's response metadata replaces the handler's same-named headers;
    a value beyond Latin-1 goes out as UTF-8 octets, on success and on errors."""
    from starlette.responses import PlainTextResponse

    from microlib.core.context import current_context

    service = Service("shop")

    def tag(value: str) -> None:
        ctx = current_context()
        assert ctx is not None
        ctx.response_metadata["x-owner"] = value

    @service.http.route("/ok")
    async def ok(request: Request) -> Any:
        tag("Łukasz")
        return PlainTextResponse("hi", headers={"x-owner": "handler", "x-kept": "yes"})

    @service.http.route("/fails")
    async def fails(request: Request) -> Any:
        tag("Zoë Ω")
        raise InvalidArgument("no")

    async with TestService(service) as t:
        r = await t.http.get("/ok")
        assert r.status_code == 200
        assert r.headers.get_list("x-owner") == ["Łukasz"]  # httpx reads the octets as UTF-8
        assert r.headers["x-kept"] == "yes"
        failed = await t.http.get("/fails")
        assert failed.status_code == 400
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.headers["x-owner"] == "Zoë Ω"


async def test_user_sections_are_typed_and_validated() -> None:
    """A declared section is read typed; an undeclared key is a KeyError."""
    from pydantic import BaseModel

    class Shop(BaseModel):
        greeting: str = "hi"

    service = Service("shop", sections={"shop": Shop})
    service.configure(overrides=["shop.greeting=hello"], environ={})
    assert service.section("shop", Shop).greeting == "hello"
    with pytest.raises(KeyError, match="no configuration section 'nope'"):
        service.section("nope", Shop)


async def test_config_file_edit_reaches_the_running_service(tmp_path: Any) -> None:
    """A reloadable edit is applied to service.config; a restart-only one is not."""
    path = tmp_path / "app.yaml"
    path.write_text("features:\n  new_checkout: false\nhttp:\n  port: 8080\n")
    service = Service("shop")
    applied = asyncio.Event()
    service.on_config_change(lambda old, new, changed: applied.set())
    async with TestService(service, files=[path]):
        await service.live_config.wait_watching()
        path.write_text("features:\n  new_checkout: true\nhttp:\n  port: 8080\n")
        await asyncio.wait_for(applied.wait(), timeout=10)
        assert service.config.features == {"new_checkout": True}
        path.write_text("features:\n  new_checkout: true\nhttp:\n  port: 9090\n")
        result = await service.live_config.reload()
        assert result.status == "restart_required"
        assert service.config.http.port == 8080


async def test_database_and_cache_are_components_built_from_config(tmp_path: Any) -> None:
    """database=True / cache=True add components from their sections, started with the service."""
    from sqlalchemy import text

    service = Service("shop", database=True, cache=True)
    with pytest.raises(RuntimeError, match="exists once the service is assembled"):
        _ = service.database
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    async with TestService(service, overrides=[f"database.url={url}"]) as t:
        async with service.database.transaction() as session:
            assert (await session.exec(text("select 40 + 2"))).scalar() == 42  # type: ignore[call-overload]
        await service.cache.set("k", b"v")
        assert await service.cache.get("k") == b"v"
        health = (await t.http.get("/health")).json()["components"]
        assert health["database"]["status"] == "UP"
        assert health["cache"]["status"] == "UP"
    with pytest.raises(RuntimeError, match=r"no cache: build it with Service\(\.\.\., cache=True\)"):
        _ = Service("plain").cache


def test_the_service_defaults_sit_below_files_environment_and_overrides(tmp_path: Any) -> None:
    """Service(defaults=...) sets the service's own defaults; a file, the environment and --set win,
    and each value's origin is reported (``code`` for the defaults)."""
    service = Service("defaults", defaults={"http": {"port": 9001}, "grpc": {"port": 9002, "enabled": False}})
    config = tmp_path / "service.yaml"
    config.write_text("grpc:\n  port: 9003\n")
    settings = service.configure(
        files=[config], overrides=["grpc.enabled=true"], environ={"MICROLIB__GRPC__HOST": "127.0.0.2"}
    )
    assert (settings.http.port, settings.grpc.port, settings.grpc.enabled) == (9001, 9003, True)
    assert settings.grpc.host == "127.0.0.2"
    assert service.live_config.current.origin("http.port") == "code"
    assert str(config) in service.live_config.current.origin("grpc.port")


@pytest.mark.parametrize("freeze", [True, False])
async def test_serve_freezes_the_start_up_heap_once_started_unless_told_not_to(freeze: bool) -> None:
    """``serve()`` moves what start-up built out of the cyclic collector's reach (ADR 0014)."""
    gc.unfreeze()  # whatever an earlier test froze
    service = Service("frozen")
    started = asyncio.Event()

    class Marker(Dependency):
        async def start(self) -> None:
            await super().start()
            started.set()

    service.add(Marker("marker"))
    service.configure(
        overrides=["http.enabled=false", "grpc.enabled=false", f"lifecycle.freeze_heap={freeze}"],
        environ={},
    )
    serving = asyncio.create_task(service.serve())
    try:
        await asyncio.wait_for(started.wait(), 10)
        for _ in range(10):  # the freeze follows the last start in the same task
            await asyncio.sleep(0)
        assert (gc.get_freeze_count() > 0) is freeze
    finally:
        service.request_stop()
        await asyncio.wait_for(serving, 10)
        gc.unfreeze()


@pytest.mark.parametrize(
    ("overrides", "clash"),
    [
        (["http.port=8765", "grpc.port=8765"], ("grpc.port", "http.port")),
        (["http.port=8765", "metrics.port=8765", "metrics.host=127.0.0.1"], ("metrics.port", "http.port")),
        (["grpc.host=127.0.0.1", "grpc.port=8765", "metrics.port=8765"], ("metrics.port", "grpc.port")),
    ],
)
async def test_two_servers_on_one_port_are_refused_naming_both_settings(
    overrides: list[str], clash: tuple[str, str]
) -> None:
    """Without the check the second server fails to bind and names only its own setting."""
    from examples.bookshop.main import create_service

    with pytest.raises(ConfigError) as caught:
        async with TestService(create_service(), overrides=["http.host=0.0.0.0", *overrides], listen=True):
            pass
    [problem] = caught.value.problems
    key, other = clash
    assert (problem.path, problem.rule, problem.value) == (key, "shared_port", "8765")
    assert problem.source == f"--set {key}=..."
    server = other.split(".")[0]
    assert f"port 8765, as the {server} server does ({other}, --set {other}=...)" in problem.message


async def test_servers_on_distinct_hosts_or_free_ports_may_share_a_number() -> None:
    service = Service("ports")
    overrides = ["http.port=0", "metrics.port=0", "metrics.host=127.0.0.1"]
    async with TestService(service, overrides=overrides) as t:
        assert (await t.http.get("/health/live")).status_code == 200
    # gRPC is not started without servicers, so its port may equal HTTP's.
    async with TestService(Service("ports"), overrides=["grpc.port=0", "http.port=0"]):
        pass
