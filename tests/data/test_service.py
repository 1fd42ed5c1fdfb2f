"""The data components inside a running Service: readiness follows the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from microlib.data import Database, DatabaseSettings, MemoryCache, UnitOfWork
from microlib.service import Service
from microlib.testing import TestService
from tests.data._proxy import Proxy


@pytest.mark.connected
async def test_readiness_follows_the_database_and_recovers(pg_url: str) -> None:
    """/health/ready is 503 while PostgreSQL is cut off and 200 again once it is back, without a restart."""
    proxy = Proxy("127.0.0.1", 5432)
    await proxy.start()
    url = sa.make_url(pg_url).set(port=proxy.port).render_as_string(hide_password=False)
    db = Database(DatabaseSettings(url=url, connect_retries=1, check_timeout=1.0))
    service = Service("shop", interceptors=[UnitOfWork(db)])
    service.add(db)
    service.add(MemoryCache("shop"), critical=False)
    try:
        async with TestService(service, overrides=["health.cache_ttl=0"]) as t:
            assert (await t.http.get("/health/ready")).status_code == 200
            await proxy.stop()
            down = await t.http.get("/health/ready")
            assert down.status_code == 503
            database = down.json()["components"]["database"]
            assert database["status"] == "DOWN"
            assert database["error"].startswith("Unavailable: health check: database unavailable")
            await proxy.start()
            assert (await t.http.get("/health/ready")).status_code == 200
    finally:
        await proxy.stop()
