"""Instructions per message on each side of ``run.py``, counted by callgrind.

``run.py``'s figure is wall clock on a shared machine, where everything
(producers, relay, consumer, PostgreSQL, RabbitMQ) competes for two cores.
This harness counts what the Python process itself executes per message,
deterministically, for both sides of ``run.py`` and both halves of the
path:

- ``commit``: one transaction of one message, from 16 concurrent tasks as in
  ``run.py`` (microlib: ``db.transaction()`` + ``service.publisher``, its relay
  stopped; hand-written: asyncpg ``INSERT`` in a pooled connection's
  transaction; ``--sides sqlalchemy-floor``: the same ``INSERT`` through a
  SQLAlchemy ``AsyncSession``, ``run.py``'s floor).
- ``relay``: one message of a backlog claimed, published to RabbitMQ with
  confirms and marked sent (the backlog is written by an uninstrumented
  process before each run; microlib's relay with ``run.py``'s batch size, the
  hand-written loop of ``run.py``).

Each case runs twice under callgrind, with N and 2N messages after the same
warm-up; the difference over N is the cost of one message.

    PYTHONPATH=. .venv/bin/python bench/outbox/inproc.py --messages 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg
import callgrind
from run import PG, hand_written_side, microlib_commit, microlib_service, microlib_side

from microlib.data import Database, Migrations
from microlib.messaging.outbox import MIGRATIONS, Relay

WARM_UP = 200
PRODUCERS = 16
PREFIX = "benchinproc"


async def _commits(commit: Callable[[int], Any], first: int, count: int) -> None:
    numbers = iter(range(first, first + count))

    async def worker() -> None:
        for seq in numbers:
            await commit(seq)

    await asyncio.gather(*(worker() for _ in range(PRODUCERS)))


async def _empty(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("TRUNCATE microlib_outbox, hand_outbox")
    finally:
        await connection.close()


async def commit_case(side: str, url: str, dsn: str, messages: int, settings: list[str]) -> None:
    """Warm up, then commit ``messages`` one-message transactions; no relay runs."""
    if side == "microlib":
        async with microlib_service(url, extra=settings) as service:
            # run.py's service, its relay stopped (not turned off: an instance without a relay
            # notifies at each commit, which run.py's does not).
            await service.component("outbox-relay").stop()
            commit = microlib_commit(service, PREFIX)
            await _commits(commit, 0, WARM_UP)
            await _commits(commit, WARM_UP, messages)
    else:
        floor = url if side == "sqlalchemy-floor" else None
        async with hand_written_side(dsn, PREFIX, relay=False, sqlalchemy_url=floor) as commit:
            await _commits(commit, 0, WARM_UP)
            await _commits(commit, WARM_UP, messages)


async def relay_case(side: str, url: str, dsn: str, messages: int, settings: list[str]) -> None:
    """Drain a backlog of ``WARM_UP + messages`` rows to RabbitMQ."""
    drained, left = asyncio.Event(), [WARM_UP + messages]

    def relayed(count: int) -> None:
        left[0] -= count
        if left[0] <= 0:
            drained.set()

    if side == "microlib":
        # Told by the relay itself: polling the table would cost in proportion to the run's
        # (valgrind-slowed) duration, not to the messages.
        run_once = Relay.run_once

        async def counted(relay: Relay) -> int:
            sent = await run_once(relay)
            relayed(sent)
            return sent

        Relay.run_once = counted  # type: ignore[method-assign]
        # Under valgrind a batch of 200 takes longer to confirm than the default 10 s.
        opened = microlib_side(url, PREFIX, extra=["messaging.publish_timeout=300", *settings])
    else:
        opened = hand_written_side(dsn, PREFIX, relayed=relayed)
    async with opened:
        await drained.wait()


async def fill(side: str, url: str, dsn: str, count: int) -> None:
    """Write ``count`` rows as ``run.py``'s producers would, with no relay running."""
    opened = (
        microlib_side(url, PREFIX, relay=False)
        if side == "microlib"
        else hand_written_side(dsn, PREFIX, relay=False)
    )
    async with opened as commit:
        await _commits(commit, 0, count)


@contextlib.contextmanager
def fresh_database() -> Any:
    """A database of its own with both sides' tables; (SQLAlchemy URL, asyncpg DSN)."""
    name = f"bench_inproc_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        admin = await asyncpg.connect(f"{PG}/test")
        await admin.execute(f"CREATE DATABASE {name}")
        await admin.close()
        db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        await db.start()
        await Migrations(Path("/nonexistent"), branches=[MIGRATIONS], progress=lambda _: None).upgrade(
            db.engine
        )
        await db.stop()
        setup = await asyncpg.connect(f"{PG}/{name}")
        await setup.execute(
            "CREATE TABLE hand_outbox "
            "(id bigserial PRIMARY KEY, body bytea NOT NULL, sent bool NOT NULL DEFAULT false)"
        )
        await setup.close()

    async def drop() -> None:
        admin = await asyncpg.connect(f"{PG}/test")
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()

    asyncio.run(create())
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", f"{PG}/{name}"
    finally:
        asyncio.run(drop())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=500, help="N (the runs use N and 2N)")
    parser.add_argument("--cases", default="commit,relay", help="commit, relay or both")
    parser.add_argument("--sides", default="microlib,hand-written")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a setting of microlib's side"
    )
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)  # case side url dsn N
    parser.add_argument("--fill", nargs=4, help=argparse.SUPPRESS)  # side url dsn N
    args = parser.parse_args()
    if args.fill:
        side, url, dsn, count = args.fill
        asyncio.run(fill(side, url, dsn, int(count)))
        return
    if args.one:
        case, side, url, dsn, count = args.one
        run = commit_case if case == "commit" else relay_case
        asyncio.run(run(side, url, dsn, int(count), args.set))
        return
    if not callgrind.available():
        parser.error("needs valgrind (apt-get install valgrind)")
    script = str(Path(__file__).resolve())
    for case in args.cases.split(","):
        for side in args.sides.split(","):
            with fresh_database() as (url, dsn):

                def command(
                    calls: int, case: str = case, side: str = side, url: str = url, dsn: str = dsn
                ) -> list[str]:
                    asyncio.run(_empty(dsn))  # each run starts from the same state
                    if case == "relay":
                        subprocess.run(
                            [sys.executable, script, "--fill", side, url, dsn, str(WARM_UP + calls)],
                            check=True,
                        )
                    settings = [f"--set={setting}" for setting in args.set]
                    return [sys.executable, script, "--one", case, side, url, dsn, str(calls), *settings]

                per = callgrind.per_call(command, args.messages)
            what = "one-message transaction committed" if case == "commit" else "message relayed"
            print(f"{case:>6} {side:>12}: {per / 1000:,.0f}k instructions per {what}", flush=True)


if __name__ == "__main__":
    main()
