"""Migrations from code: up, down, up again; failures; autogenerate; one migrator among replicas."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from microlib.data import Database, DatabaseSettings
from microlib.data.migrations import MigrationError, Migrations
from tests.data import _revisions as r

ROOT = Path(__file__).resolve().parents[2]


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


@pytest.fixture
async def empty_db(db_url: str) -> Database:
    """A started database with nothing in it (PostgreSQL: its public schema reset)."""
    db = Database(DatabaseSettings(url=db_url, connect_retries=1))
    await db.start()
    if db.url.get_backend_name() == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            await conn.execute(sa.text("CREATE SCHEMA public"))
    yield db  # type: ignore[misc]
    await db.stop()


async def test_upgrade_downgrade_upgrade(empty_db: Database, tmp_path: Path) -> None:
    """Each step is applied and reported; downgrade to base removes it all; upgrade again restores it."""
    r.write(tmp_path, "0001", None, "create items", r.CREATE_ITEMS)
    r.write(tmp_path, "0002", "0001", "add price", r.ADD_PRICE)
    lines: list[str] = []
    migrations = Migrations(tmp_path, progress=lines.append)

    assert await migrations.upgrade(empty_db.engine) == ["0001", "0002"]
    assert await migrations.current(empty_db.engine) == ("0002",)
    assert "items" in await _tables(empty_db)
    assert any("applied 0001: create items" in line for line in lines)

    assert await migrations.downgrade(empty_db.engine, "base") == ["0002", "0001"]
    assert await migrations.current(empty_db.engine) == ()
    assert "items" not in await _tables(empty_db)

    assert await migrations.upgrade(empty_db.engine, "0001") == ["0001"]
    assert await migrations.upgrade(empty_db.engine) == ["0002"]
    assert await migrations.upgrade(empty_db.engine) == []
    assert lines[-1].endswith("nothing to do")


async def test_failed_step_is_named_and_earlier_steps_stay(empty_db: Database, tmp_path: Path) -> None:
    """A failing revision is named; the database stays at the last good one, without half its changes."""
    r.write(tmp_path, "0001", None, "create items", r.CREATE_ITEMS)
    r.write(tmp_path, "0002", "0001", "broken step", r.BROKEN)
    migrations = Migrations(tmp_path, progress=lambda _: None)
    with pytest.raises(
        MigrationError, match=r"step 0002 \(broken step\) failed.*remains at revision 0001"
    ) as e:
        await migrations.upgrade(empty_db.engine)
    assert e.value.revision == "0002"
    assert await migrations.current(empty_db.engine) == ("0001",)
    assert "half_done" not in await _tables(empty_db)


async def test_autogenerate_writes_a_revision_that_applies(empty_db: Database, tmp_path: Path) -> None:
    """``revision --autogenerate`` diffs the models against the database; the script imports sqlmodel."""
    metadata = sa.MetaData()
    sa.Table(
        "gadgets", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("sku", sa.String(20))
    )
    migrations = Migrations(tmp_path / "migrations", metadata=metadata, progress=lambda _: None)
    path = await migrations.revision(empty_db.engine, "add gadgets")
    source = path.read_text()
    assert "op.create_table('gadgets'" in source or 'op.create_table("gadgets"' in source
    assert "import sqlmodel" in source
    [revision] = migrations.history()
    assert revision.is_head
    assert revision.message == "add gadgets"
    await migrations.upgrade(empty_db.engine)
    assert "gadgets" in await _tables(empty_db)


async def test_autogenerate_needs_an_engine(tmp_path: Path) -> None:
    """Without an engine there is nothing to compare with: a clear error, and no script written."""
    migrations = Migrations(tmp_path / "migrations", progress=lambda _: None)
    with pytest.raises(ValueError, match="autogenerate compares the models with a database"):
        await migrations.revision(None, "add gadgets")
    assert not (tmp_path / "migrations").exists()


async def test_missing_directory_is_reported(empty_db: Database, tmp_path: Path) -> None:
    """Upgrading from a directory that does not exist names it."""
    with pytest.raises(MigrationError, match="does not exist"):
        await Migrations(tmp_path / "nope").upgrade(empty_db.engine)


async def test_migrate_on_start(db_url: str, tmp_path: Path) -> None:
    """With ``migrate_on_start`` the database is at head once the component has started."""
    r.write(tmp_path, "0001", None, "create items", r.CREATE_ITEMS)
    settings = DatabaseSettings(
        url=db_url, migrate_on_start=True, migrations=str(tmp_path), connect_retries=1
    )
    db = Database(settings)
    await db.start()
    try:
        assert await Migrations(tmp_path).current(db.engine) == ("0001",)
        await Migrations(tmp_path).downgrade(db.engine, "base")
    finally:
        await db.stop()


@pytest.mark.connected
async def test_two_processes_migrate_once(pg_url: str, tmp_path: Path) -> None:
    """Two replicas upgrading at once: one runs the migration, the other waits and finds nothing to do."""
    db = Database(pg_url)
    await db.start()
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        await conn.execute(sa.text("CREATE SCHEMA public"))
    r.write(tmp_path, "0001", None, "slow once", r.SLOW_ONCE)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [
        sys.executable,
        "-m",
        "microlib.cli",
        "db",
        "upgrade",
        "--url",
        pg_url,
        "--migrations",
        str(tmp_path),
    ]
    procs = [
        await asyncio.create_subprocess_exec(
            *command, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        for _ in range(2)
    ]
    outputs = [(await p.communicate())[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sum("applied 0001" in out for out in outputs) == 1, outputs
    assert sum("nothing to do" in out for out in outputs) == 1, outputs
    async with db.engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM runs"))).scalar_one() == 1
    await db.stop()
