"""Three replicas behind a connection balancer, rolled one by one under load.

The rollout does what a Deployment with ``maxSurge: 1, maxUnavailable: 0``
does: start a new replica, wait until the balancer sends it connections, send
SIGTERM to an old one and, without waiting for it to exit, go on with the
next. Each stopping replica fails readiness at once and keeps serving for
``shutdown.drain_delay`` while the balancer notices, then closes its
listeners and finishes what is in flight. Steady HTTP and gRPC load runs
throughout; not one request may fail.

Connections are what the balancer moves, so each protocol must leave a
stopping replica's connections during the drain delay:

- HTTP/1.1: from SIGTERM on, every response says ``Connection: close``, so a
  client reconnects (to another replica) after its next response instead of
  keeping a connection the drain would close under its next request.
- gRPC: ``grpc.keepalive.max_connection_age`` (below the drain delay) makes
  the server send each connection a graceful GOAWAY while it still serves, so
  channels reconnect elsewhere before the drain stops the server (grpc.aio
  fails calls still queued when its server stops with CANCELLED).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import pytest

from examples.bookshop.gen.bookshop.v1 import BookshopServiceClient, GetBookRequest
from tests.scale.balancer import Balancer, Endpoints
from tests.scale.replica import Replica

PROBE_INTERVAL = 0.2  # the balancer's readiness checks
CONNECTION_AGE = 1.0  # grpc.keepalive.max_connection_age (the server adds up to 10 %)
DRAIN_DELAY = 2.5  # above a probe interval and a connection's age, with room
HTTP_CALLERS = 4  # concurrent requests over one keep-alive pool
GRPC_CHANNELS = 3  # one HTTP/2 connection each
PAUSE = 0.02  # seconds each caller waits between requests
SETTINGS = (
    f"shutdown.drain_delay={DRAIN_DELAY}",
    "shutdown.drain_timeout=10",
    f"grpc.keepalive.max_connection_age={CONNECTION_AGE}",
    "grpc.keepalive.max_connection_age_grace=10",
    "logging.access_log=false",  # the machine's two cores serve four processes and the load
)


@dataclass
class Load:
    """Closed-loop callers: each sends a request, waits for it, pauses."""

    ok: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"http": [], "grpc": []})
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def served(self) -> int:
        return sum(self.ok.values())

    async def call(self, kind: str, request: Callable[[], Awaitable[object]]) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                await request()
            except Exception as exc:
                self.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            else:
                self.ok[kind] += 1
                self.latencies[kind].append(time.perf_counter() - start)
            await asyncio.sleep(PAUSE)


@dataclass
class Cluster:
    endpoints: Endpoints
    http: Balancer
    grpc: Balancer
    directory: Path
    replicas: list[Replica] = field(default_factory=list)

    def start_replica(self) -> Replica:
        name = f"replica-{len(self.replicas)}"
        replica = Replica(self.directory / f"{name}.log", *SETTINGS, name=name).start()
        self.replicas.append(replica)
        self.endpoints.add(replica)
        return replica


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    endpoints = Endpoints(interval=PROBE_INTERVAL)
    cluster = Cluster(
        endpoints,
        Balancer(endpoints, lambda r: r.http_port),
        Balancer(endpoints, lambda r: r.grpc_port),
        tmp_path,
    )
    await endpoints.start()
    await cluster.http.start()
    await cluster.grpc.start()
    try:
        yield cluster
    finally:
        await cluster.http.stop()
        await cluster.grpc.stop()
        await endpoints.stop()
        for replica in cluster.replicas:
            replica.kill()


async def _drain(cluster: Cluster, replica: Replica, load: Load) -> dict[str, float]:
    """SIGTERM, as the kubelet sends it, and what happened until the exit."""
    served_before, signalled = load.served, time.perf_counter()
    replica.terminate()
    await cluster.endpoints.wait_not_ready(replica)
    out_of_rotation = time.perf_counter() - signalled
    status = await asyncio.to_thread(replica.wait, 60)
    assert status == 0, replica.output()
    cluster.endpoints.remove(replica)
    return {
        "out_of_rotation_s": out_of_rotation,
        "exited_s": time.perf_counter() - signalled,
        "served_meanwhile": load.served - served_before,
    }


def _print_figures(load: Load, rolls: list[dict[str, float]], cluster: Cluster, elapsed: float) -> None:
    print(f"\nrolling restart of 3 replicas under load, {elapsed:.1f} s:")
    for kind, latencies in load.latencies.items():
        failed = sum(f.startswith(kind) for f in load.failures)
        p50 = statistics.median(latencies) * 1000
        p99 = statistics.quantiles(latencies, n=100)[98] * 1000
        print(
            f"  {kind}: {load.ok[kind]} ok ({load.ok[kind] / elapsed:.0f}/s), {failed} failed, "
            f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
    for i, roll in enumerate(rolls):
        print(
            f"  replica-{i}: out of rotation {roll['out_of_rotation_s']:.2f} s after SIGTERM, exited 0 after "
            f"{roll['exited_s']:.2f} s; {roll['served_meanwhile']} requests served by the cluster meanwhile"
        )
    print(f"  HTTP connections opened, by replica: {dict(sorted(cluster.http.connections.items()))}")
    print(f"  gRPC connections opened, by replica: {dict(sorted(cluster.grpc.connections.items()))}")


async def test_rolling_restart_under_load_fails_no_request(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rolling three replicas with SIGTERM under steady HTTP and gRPC load
    through a connection-level balancer: every request succeeds, every
    replica drains and exits 0, and the cluster keeps serving meanwhile."""
    old = [cluster.start_replica() for _ in range(3)]
    for replica in old:
        await cluster.endpoints.wait_ready(replica)

    load = Load()
    client = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{cluster.http.port}",
        timeout=10,
        limits=httpx.Limits(max_connections=HTTP_CALLERS),
    )
    # A channel of its own per connection: grpc shares one connection among
    # channels to the same address unless each keeps a local subchannel pool.
    channels = [
        grpc.aio.insecure_channel(
            f"127.0.0.1:{cluster.grpc.port}",
            options=[("grpc.enable_http_proxy", 0), ("grpc.use_local_subchannel_pool", 1)],
        )
        for _ in range(GRPC_CHANNELS)
    ]

    async def get_over_http() -> None:
        response = await client.get("/v1/books/1")
        if response.status_code != 200:
            raise AssertionError(f"status {response.status_code}: {response.text[:200]}")

    def get_over_grpc(channel: grpc.aio.Channel) -> Callable[[], Awaitable[object]]:
        books = BookshopServiceClient(channel)
        return lambda: books.get_book(GetBookRequest(id="1"), timeout=10)

    callers = [asyncio.create_task(load.call("http", get_over_http)) for _ in range(HTTP_CALLERS)]
    callers += [asyncio.create_task(load.call("grpc", get_over_grpc(channel))) for channel in channels]
    began = time.perf_counter()
    try:
        await asyncio.sleep(1)
        drains = []
        for stopping in old:
            await cluster.endpoints.wait_ready(cluster.start_replica())
            drains.append(asyncio.create_task(_drain(cluster, stopping, load)))
        rolls = await asyncio.gather(*drains)
        await asyncio.sleep(1)
    finally:
        load.stop.set()
        await asyncio.gather(*callers)
        await client.aclose()
        for channel in channels:
            await channel.close()
    elapsed = time.perf_counter() - began
    with capsys.disabled():
        _print_figures(load, rolls, cluster, elapsed)

    assert load.failures == [], load.failures
    assert load.ok["http"] > 0
    assert load.ok["grpc"] > 0
    assert cluster.http.refused == cluster.grpc.refused == 0
    for roll in rolls:
        assert roll["served_meanwhile"] > 0
    for stopped in old:
        events = [e["event"] for e in stopped.events()]
        assert events.index("shutdown started") < events.index("service stopped")
