"""`microlib jobs dlq list|show|replay|purge` and `microlib jobs overlap show|free` as a real
process against Redis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from microlib import Service
from microlib.jobs import DeadLetter, JobEnvelope, JobsSettings, open_queue
from microlib.testing import TestService
from tests.jobs._contract import Handlers
from tests.jobs.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.jobs._dlq_app:service"
OVERLAP = "tests.jobs._overlap_app:service"


def cli(*args: str, group: str = "dlq") -> subprocess.CompletedProcess[str]:
    """Run `python -m microlib.cli jobs GROUP ARGS`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "codegen")])}
    return subprocess.run(
        [sys.executable, "-m", "microlib.cli", "jobs", group, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    """A fresh Redis namespace, emptied afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    redis = Redis.from_url(REDIS_URL)
    keys = [k async for k in redis.scan_iter(match=f"{name}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@pytest.mark.connected
async def test_list_show_replay_and_purge(namespace: str) -> None:
    """The letters are listed and shown; a replay runs the job again; purge empties the queue."""
    settings = JobsSettings(url=REDIS_URL, namespace=namespace)
    queue = open_queue(settings, namespace)
    await queue.start()
    first = JobEnvelope("send_receipt", {"order_id": "d1"}, queue="mail", attempt=3)
    second = JobEnvelope("send_receipt", {"order_id": "d2"}, queue="mail", attempt=3)
    for envelope in (first, second):
        await queue.bury(DeadLetter(envelope, "INTERNAL", "RuntimeError: boom", time.time()))
    await queue.stop()
    common = [TARGET, "--set", f"jobs.url={REDIS_URL}", "--set", f"jobs.namespace={namespace}"]

    listed = await asyncio.to_thread(cli, "list", *common)
    assert listed.returncode == 0, listed.stderr
    assert f"{first.id}  send_receipt  attempt=3  INTERNAL" in listed.stdout
    assert "2 dead letter(s)" in listed.stderr

    shown = await asyncio.to_thread(cli, "show", first.id, *common)
    document = json.loads(shown.stdout)
    assert (document["payload"], document["error"]) == ({"order_id": "d1"}, "RuntimeError: boom")

    replayed = await asyncio.to_thread(cli, "replay", first.id, *common)
    assert replayed.stdout.strip() == f"replayed {first.id}"
    service = Service("shop")
    handlers = Handlers()
    service.include(handlers)
    async with TestService(service, overrides=[f"jobs.url={REDIS_URL}", f"jobs.namespace={namespace}"]):
        async with asyncio.timeout(10):
            await handlers.started.wait()
    assert [(order, attempt) for order, attempt, _ in handlers.runs] == [("d1", 1)]

    refused = await asyncio.to_thread(cli, "purge", *common)
    assert (refused.returncode, "pass --yes" in refused.stderr) == (2, True)
    purged = await asyncio.to_thread(cli, "purge", "--yes", *common)
    assert purged.stdout.strip() == "purged 1 dead letter(s)"
    missing = await asyncio.to_thread(cli, "replay", second.id, *common)
    assert missing.returncode == 2
    assert f"no dead letter for job {second.id}" in missing.stderr


def test_the_embedded_queue_has_nothing_to_inspect() -> None:
    """With memory:// the command says why it cannot reach the letters."""
    result = cli("list", TARGET, "--set", "jobs.url=memory://")
    assert result.returncode == 2
    assert "jobs.url is memory://" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.connected
@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (["jobs.url=redis://127.0.0.1:1/0"], "the jobs store at redis://127.0.0.1:1/0 (jobs.url): "),
        (
            ["jobs.url=postgresql://postgres:secret@127.0.0.1:1/test"],
            "the jobs store at postgresql://postgres:**********@127.0.0.1:1/test (jobs.url): ",
        ),
        (["jobs.url=postgresql://postgres@127.0.0.1:5432/no_such_db"], "does not exist"),
        (
            ["jobs.url=amqp://guest:guest@127.0.0.1:5672/", "jobs.store=redis://127.0.0.1:1/0"],
            "the jobs store at redis://127.0.0.1:1/0 (jobs.store): ",
        ),
    ],
)
def test_an_unreachable_backend_is_one_line(settings: list[str], named: str) -> None:
    """A store or broker that does not answer is named in one line, once, without a traceback."""
    result = cli("list", TARGET, *(arg for s in settings for arg in ("--set", s)))
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("microlib jobs: cannot reach the jobs backend: ")
    assert named in line
    assert line.count("(jobs.") == 1, line
    assert "secret" not in line


@pytest.mark.connected
async def test_a_replay_the_broker_refuses_keeps_the_letter(namespace: str) -> None:
    """RabbitMQ down, the store up: the replay fails in one line and the letter stays."""
    settings = JobsSettings(url="amqp://guest:guest@127.0.0.1:1/", store=REDIS_URL, namespace=namespace)
    queue = open_queue(settings, namespace)
    await queue.start()
    try:
        envelope = JobEnvelope("send_receipt", {"order_id": "d1"}, queue="mail")
        await queue.bury(DeadLetter(envelope, "INTERNAL", "RuntimeError: boom", time.time()))
        common = [TARGET, "--set", f"jobs.url={settings.url}", "--set", f"jobs.store={REDIS_URL}"]
        replayed = await asyncio.to_thread(
            cli, "replay", envelope.id, *common, "--set", f"jobs.namespace={namespace}"
        )
        assert replayed.returncode == 2
        [line] = replayed.stderr.strip().splitlines()
        assert "cannot reach the jobs backend" in line
        assert "the jobs broker at amqp://guest:**********@127.0.0.1:1/ (jobs.url): AMQPConnection" in line
        assert await queue.dead_letter(envelope.id) is not None
    finally:
        await queue.stop()


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_limit_below_one_is_refused(limit: str) -> None:
    """--limit counts letters: 0 or a negative number is a usage error, before anything connects."""
    result = cli("list", TARGET, "--limit", limit, "--set", "jobs.url=redis://127.0.0.1:1/0")
    assert result.returncode == 2
    assert f"argument --limit: must be at least 1, got {limit}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.connected
async def test_overlap_shows_and_frees_a_key_held_by_a_run_that_will_never_end(namespace: str) -> None:
    """A scheduled run holds its job's overlap key and is lost (here: queued where no worker
    takes it): `overlap show` names the job id and how long it has held the key, `free`
    refuses without --yes, then frees it, and the next enqueue under the key queues. A job
    that is not the service's, or has no `overlap: skip`, is one line naming it. Before,
    there was no way but to wait `jobs.idempotency_ttl` (a day) or edit the store by hand."""
    key = "microlib-overlap:report"
    queue = open_queue(JobsSettings(url=REDIS_URL, namespace=namespace), namespace)
    await queue.start()
    try:
        lost = JobEnvelope("report", {}, queue="default", idempotency_key=key)
        await queue.enqueue(lost)
        common = [OVERLAP, "--set", f"jobs.url={REDIS_URL}", "--set", f"jobs.namespace={namespace}"]

        shown = await asyncio.to_thread(cli, "show", "report", *common, group="overlap")
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith(f"{key} held by job {lost.id} for "), shown.stdout

        refused = await asyncio.to_thread(cli, "free", "report", *common, group="overlap")
        assert refused.returncode == 2
        assert refused.stderr.strip().endswith("pass --yes"), refused.stderr
        assert await queue.key_holder(key) is not None

        freed = await asyncio.to_thread(cli, "free", "report", *common, "--yes", group="overlap")
        assert freed.stdout.strip() == f"freed {key} (held by job {lost.id})", freed.stderr
        assert await queue.key_holder(key) is None
        again = JobEnvelope("report", {}, queue="default", idempotency_key=key)
        assert await queue.enqueue(again) == again.id

        unknown = await asyncio.to_thread(cli, "show", "nope", *common, group="overlap")
        assert unknown.returncode == 2
        assert unknown.stderr.strip() == "microlib jobs: no job 'nope' in the service; its jobs: report"
        allowing = await asyncio.to_thread(
            cli, "show", "send_receipt", TARGET, "--set", f"jobs.url={REDIS_URL}", group="overlap"
        )
        assert allowing.returncode == 2
        assert "has no schedule with overlap: skip" in allowing.stderr
        assert len(allowing.stderr.strip().splitlines()) == 1
    finally:
        await queue.stop()
