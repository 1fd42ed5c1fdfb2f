"""Fixtures: a PostgreSQL database of the session's own (from tests/data), test-owned contracts."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.data.conftest import pg_url
from tests.messaging.contract import Orders, orders

__all__ = ["pg_url"]


@pytest.fixture
def contract() -> Orders:
    """The orders document under a prefix of the test's own."""
    return orders(f"ob{uuid.uuid4().hex[:8]}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.connected)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend: a SQLite file, or the session's PostgreSQL
    database (each test's rows are told apart by the test's own address prefix)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/app.db"
    url: str = request.getfixturevalue("pg_url")
    return url
