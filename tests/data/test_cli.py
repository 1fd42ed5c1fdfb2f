"""``microlib db``: revision, upgrade, current, history, downgrade, seed."""

from __future__ import annotations

import sqlite3
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from microlib.cli.main import main
from tests.data import _revisions as r

MODELS = """
import sqlalchemy as sa

metadata = sa.MetaData()
sa.Table("shelves", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(40)))


async def seed(session):
    exists = (await session.exec(sa.text("SELECT count(*) FROM shelves WHERE id = 1"))).scalar_one()
    if not exists:
        await session.exec(sa.text("INSERT INTO shelves (id, name) VALUES (1, 'fiction')"))
"""

SERVICE = """
from microlib.service import Service
from microlib.data import DatabaseSettings

service = Service("shop", database=True)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a models module, importable, and no database env var."""
    (tmp_path / "shop_models.py").write_text(textwrap.dedent(MODELS))
    (tmp_path / "shop_service.py").write_text(textwrap.dedent(SERVICE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("MICROLIB__DATABASE__URL", raising=False)
    return tmp_path


def _db(*args: str) -> int:
    return main(["db", *args])


def test_full_workflow_on_sqlite(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """autogenerate, upgrade, current, history, seed twice, downgrade: each prints what it did."""
    url = ["--url", f"sqlite+aiosqlite:///{project}/app.db", "--metadata", "shop_models:metadata"]
    assert _db("revision", "--autogenerate", "-m", "add shelves", *url) == 0
    [script] = (project / "migrations").glob("*.py")
    revision = script.name.split("_")[0]
    # One line, the script named from the working directory: not also Alembic's "Generating ...".
    assert capsys.readouterr().out == f"created revision {revision} (add shelves): migrations/{script.name}\n"

    assert _db("upgrade", *url) == 0
    out = capsys.readouterr().out
    assert f"applied {revision}: add shelves" in out
    assert _db("current", *url) == 0
    assert capsys.readouterr().out.strip() == revision
    assert _db("history", *url) == 0
    assert f"<base> -> {revision} (head), add shelves" in capsys.readouterr().out

    for _ in range(2):
        assert _db("seed", "--seed", "shop_models:seed", *url) == 0
    assert "seed shop_models:seed applied" in capsys.readouterr().out
    with closing(sqlite3.connect(project / "app.db")) as conn:
        assert conn.execute("SELECT id, name FROM shelves").fetchall() == [(1, "fiction")]

    assert _db("downgrade", "base", *url) == 0
    assert f"reverted {revision}" in capsys.readouterr().out
    assert _db("current", *url) == 0
    assert "never migrated" in capsys.readouterr().out


def test_url_from_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --url or a service, MICROLIB__DATABASE__URL names the database."""
    monkeypatch.setenv("MICROLIB__DATABASE__URL", f"sqlite+aiosqlite:///{project}/env.db")
    r.write(project / "migrations", "0001", None, "create items", r.CREATE_ITEMS)
    assert _db("upgrade") == 0
    assert (project / "env.db").exists()


def test_upgrade_to_a_named_revision(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``upgrade REV`` stops at REV; a lone positional without a colon is the revision, not a TARGET."""
    r.write(project / "migrations", "0001", None, "create items", r.CREATE_ITEMS)
    r.write(project / "migrations", "0002", "0001", "add price", r.ADD_PRICE)
    url = ["--url", f"sqlite+aiosqlite:///{project}/app.db"]
    assert _db("upgrade", "0001", *url) == 0
    assert _db("current", *url) == 0
    assert capsys.readouterr().out.strip().endswith("0001")


def test_url_from_the_service_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A TARGET service's ``database`` section, with --set overrides, names the database and directory."""
    r.write(project / "revs", "0001", None, "create items", r.CREATE_ITEMS)
    url = f"sqlite+aiosqlite:///{project}/svc.db"
    assert (
        _db(
            "upgrade",
            "shop_service:service",
            "--set",
            f"database.url={url}",
            "--set",
            "database.migrations=revs",
        )
        == 0
    )
    assert "applied 0001" in capsys.readouterr().out
    assert (project / "svc.db").exists()


def test_an_empty_revision_opens_no_database(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``revision`` without --autogenerate writes a script and nothing else: it needs no URL, and
    a configured SQLite file is not created (an empty one left behind looked migrated to nobody)."""
    assert _db("revision", "-m", "hand written") == 0
    url = ["--url", f"sqlite+aiosqlite:///{project}/app.db"]
    assert _db("revision", "-m", "second step", *url) == 0
    first, second = sorted((project / "migrations").glob("*.py"), key=lambda path: "second" in path.name)
    assert f"Revises: {first.name.split('_')[0]}\n" in second.read_text()
    assert not (project / "app.db").exists()
    out = capsys.readouterr().out
    assert f"(hand written): migrations/{first.name}" in out
    assert f"(second step): migrations/{second.name}" in out


def test_no_database_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With no URL anywhere the command says where a URL can come from."""
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert _db("current") == 2
    assert "no database URL" in capsys.readouterr().err


def test_failed_migration_names_the_step(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A failing revision exits non-zero naming it and the revision the database remains at."""
    r.write(project / "migrations", "0001", None, "create items", r.CREATE_ITEMS)
    r.write(project / "migrations", "0002", "0001", "broken step", r.BROKEN)
    assert _db("upgrade", "--url", f"sqlite+aiosqlite:///{project}/app.db") == 2
    captured = capsys.readouterr()
    assert "applied 0001" in captured.out
    assert "migration step 0002 (broken step) failed" in captured.err
    assert "remains at revision 0001" in captured.err
