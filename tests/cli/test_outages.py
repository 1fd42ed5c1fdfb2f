"""`microlib run` with its dependencies down at boot, as a real process."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.data._proxy import Proxy
from tests.scale.replica import Replica, free_port

TARGET = "tests.cli.apps.dependent:service"
# Nothing listens there: connecting is refused at once.
CLOSED = free_port()


def _health(replica: Replica, path: str = "/health") -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{replica.url}{path}", timeout=5)
    return response.status_code, response.json()


@pytest.mark.connected
async def test_a_non_critical_cache_down_at_boot_starts_degraded_and_recovers(
    replicas: list[Replica], tmp_path: Path
) -> None:
    """Redis down at boot no longer stops the service: it starts, ready, with
    the cache reported DOWN in /health, and the cache starts in the
    background once Redis answers."""
    redis = Proxy("127.0.0.1", 6379)
    await redis.start()
    await redis.stop()  # its port is known, and refused: Redis is down
    replica = Replica(
        tmp_path / "service.log",
        f"cache.url=redis://127.0.0.1:{redis.port}/15",
        "cache.connect_timeout=0.2",
        f"database.url=sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        target=TARGET,
    )
    replicas.append(replica)
    await asyncio.to_thread(lambda: replica.start().wait_ready())
    status, body = await asyncio.to_thread(_health, replica)
    assert status == 200, body  # the cache is not critical
    assert body["components"]["cache"]["status"] == "DOWN", body
    assert any(e["event"] == "component started degraded" for e in replica.events())
    await redis.start()
    try:
        while True:
            assert replica.running(), replica.output()
            _, health = await asyncio.to_thread(_health, replica)
            health_up = health["components"]["cache"]["status"] == "UP"
            # The health check may see the cache up a moment before its log line is written.
            logged = any(
                e["event"] == "component started" and e.get("after_degraded_start") for e in replica.events()
            )
            if health_up and logged:
                break
            await asyncio.sleep(0.2)
        replica.terminate()
        assert await asyncio.to_thread(replica.wait) == 0
    finally:
        await redis.stop()


def test_a_critical_database_down_at_boot_fails_the_start_naming_it(
    replicas: list[Replica], tmp_path: Path
) -> None:
    """While the database is retried the startup probe answers 503 naming it
    (the server used to start last, so probes went unanswered) and the
    routes answer 503 STARTING; when the retries run out the start fails,
    exit 1, naming the database."""
    replica = Replica(
        tmp_path / "service.log",
        f"database.url=postgresql+asyncpg://nobody@127.0.0.1:{CLOSED}/none",
        "database.connect_retries=8",
        "database.connect_backoff=0.5",
        "database.connect_backoff_max=0.5",
        target=TARGET,
    )
    replicas.append(replica)
    replica.start()
    while True:
        assert replica.running(), replica.output()
        try:
            status, body = _health(replica, "/health/startup")
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        break
    assert status == 503
    assert body == {"status": "DOWN", "phase": "starting", "waiting_for": "database"}
    route = httpx.get(f"{replica.url}/hello", timeout=5)
    assert route.status_code == 503
    assert route.headers["retry-after"] == "1"
    assert route.json()["reason"] == "STARTING"
    assert replica.wait() == 1
    assert "microlib run: component 'database' failed to start" in replica.output()
