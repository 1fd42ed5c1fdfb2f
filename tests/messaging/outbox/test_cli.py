"""`microlib outbox status|skip` as a real process, on SQLite (the store's queries on PostgreSQL too:
test_store.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from microlib.messaging.outbox import OutboxStore
from tests.cli.conftest import ROOT, microlib
from tests.messaging.outbox.test_store import backlog, migrated


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return microlib("outbox", *args, cwd=ROOT)


async def test_status_lists_the_heads_the_broker_refused_and_skip_lets_their_key_go_on(
    tmp_path: Path,
) -> None:
    """A head the broker refused holds back its key: `status` shows it with its attempts and
    error; `skip` prints it and deletes it, and the next claim takes the row behind it.
    (The store's queries run on PostgreSQL too: tests/messaging/outbox/test_store.py.)"""
    db_url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    async with migrated(db_url) as db:
        await backlog(db, {"a": 2, "b": 1})
        store = OutboxStore(db.engine)
        async with store.claim(10) as batch:
            batch.failed[batch.rows[0].id] = "InvalidArgument: message too large"
            batch.sent.append(batch.rows[1].id)

        status = cli("status", "--url", db_url)
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        assert lines[0].startswith("2 message(s) not sent yet, the oldest ")
        assert lines[1] == "failing (each holds back the messages behind it in its key):"
        assert lines[2].startswith("  a-0  op  key=a  attempts=1  age=")
        assert lines[2].endswith("InvalidArgument: message too large")
        assert len(lines) == 3

        refused = cli("skip", "a-0", "--url", db_url)
        assert (refused.returncode, refused.stderr.strip()) == (
            2,
            "microlib outbox: skip deletes the message: it is never sent; pass --yes",
        )
        skipped = cli("skip", "a-0", "--url", db_url, "--yes")
        assert skipped.returncode == 0, skipped.stderr
        document = json.loads(skipped.stdout)
        assert (document["message_id"], document["key"], document["attempts"]) == ("a-0", "a", 1)
        assert document["last_error"] == "InvalidArgument: message too large"
        assert "skipped a-0" in skipped.stderr
        async with store.claim(10) as batch:
            assert [row.message_id for row in batch.rows] == ["a-1"]

        again = cli("skip", "a-0", "--url", db_url, "--yes")
        assert (again.returncode, again.stderr.strip()) == (
            2,
            "microlib outbox: no unsent outbox message a-0",
        )
        healthy = cli("status", "--url", db_url)
        assert healthy.stdout.splitlines()[1:] == ["no message is failing"]


def test_a_database_without_the_outbox_table_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "app.db").close()
    url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    result = cli("status", "--url", url)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("microlib outbox: cannot read the outbox (database.url from --url): ")
    assert "no such table: microlib_outbox" in result.stderr
    assert "`microlib db upgrade` when messaging.outbox.enabled is true" in result.stderr
