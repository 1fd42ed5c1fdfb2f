"""``microlib jobs dlq list|show|replay|purge``: the dead-letter queue of a service's jobs.

The queue comes from the service's ``jobs`` configuration (TARGET,
``--config``, ``--set``); with the embedded ``memory://`` queue the dead
letters live in the service's own process, so there is nothing to reach.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from microlib.cli._dlq import add_dlq, quiet_logs, redacted
from microlib.cli._target import load_service
from microlib.cli.errors import CommandError
from microlib.cli.run import config_files
from microlib.core.errors import Unavailable

if TYPE_CHECKING:
    from microlib.jobs import JobQueue

__all__ = ["register"]

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``jobs`` subcommand and its ``dlq`` actions."""
    parser = subparsers.add_parser("jobs", help="inspect and replay failed jobs")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    add_dlq(
        groups,
        help="the dead-letter queue",
        item="job_id",
        list_=_list,
        show=_show,
        replay=_replay,
        purge=_purge,
    )


def _list(args: argparse.Namespace) -> int:
    letters = _run(args, lambda queue: queue.dead_letters(args.limit))
    for letter in letters:
        e = letter.envelope
        failed = dt.datetime.fromtimestamp(letter.failed_at, dt.UTC).isoformat(timespec="seconds")
        print(f"{e.id}  {e.job}  attempt={e.attempt}  {letter.code}  {failed}  {letter.error}")
    print(f"{len(letters)} dead letter(s)", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    letter = _run(args, lambda queue: queue.dead_letter(args.job_id))
    if letter is None:
        raise CommandError(f"no dead letter for job {args.job_id}")
    e = letter.envelope
    document = {
        "id": e.id,
        "job": e.job,
        "queue": e.queue,
        "attempt": e.attempt,
        "code": letter.code,
        "error": letter.error,
        "failed_at": dt.datetime.fromtimestamp(letter.failed_at, dt.UTC).isoformat(),
        "enqueued_at": dt.datetime.fromtimestamp(e.enqueued_at, dt.UTC).isoformat(),
        "payload": e.payload,
        "headers": e.headers,
    }
    print(json.dumps(document, indent=2, sort_keys=True))
    return 0


def _replay(args: argparse.Namespace) -> int:
    if not _run(args, lambda queue: queue.replay(args.job_id)):
        raise CommandError(f"no dead letter for job {args.job_id}")
    print(f"replayed {args.job_id}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    if not args.yes:
        raise CommandError("purge drops every dead letter for good: pass --yes")
    print(f"purged {_run(args, lambda queue: queue.purge())} dead letter(s)")
    return 0


def _run(args: argparse.Namespace, action: Callable[[JobQueue], Awaitable[T]]) -> T:
    # Imported by the command that uses them: `microlib run` builds this parser too.
    from microlib.jobs import open_queue

    service = load_service(args.target)
    service.configure(files=config_files(args.config), overrides=args.overrides)
    settings = service.config.jobs
    if settings.backend == "memory":
        raise CommandError(
            "jobs.url is memory://: dead letters live in the service's process; "
            "configure a broker (redis://, amqp://, postgresql://) to inspect them"
        )
    quiet_logs()
    namespace = settings.namespace or service.info.name

    async def main() -> T:
        queue = open_queue(settings, namespace)
        try:
            await queue.start()
            return await action(queue)
        finally:
            await queue.stop()

    try:
        return asyncio.run(main())
    except Unavailable as exc:
        # The queue's own: it names the store and the setting that gives its URL.
        raise CommandError(f"cannot reach the jobs backend: {exc.message}") from None
    except Exception as exc:
        # The store or the broker refused or did not answer: an operator's
        # problem to fix, said in one line with where it was looked for.
        where = f"jobs.url {redacted(settings.url)}"
        if settings.store is not None:
            where += f", jobs.store {redacted(settings.store)}"
        raise CommandError(f"cannot reach the jobs backend: {type(exc).__name__}: {exc} ({where})") from None
