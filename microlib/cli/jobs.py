"""``microlib jobs dlq list|show|replay|purge``: the dead-letter queue of a service's jobs;
``microlib jobs overlap show|free JOB``: the overlap key of a schedule with ``overlap: skip``.

The queue comes from the service's ``jobs`` configuration (TARGET,
``--config``, ``--set``); with the embedded ``memory://`` queue the dead
letters and the keys live in the service's own process, so there is nothing to reach.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from microlib.cli._dlq import add_dlq, quiet_logs, redacted
from microlib.cli._target import load_service
from microlib.cli.errors import CommandError
from microlib.cli.run import add_config_arguments, config_files
from microlib.core.errors import Unavailable

if TYPE_CHECKING:
    from microlib import Service
    from microlib.jobs import DeadLetter, JobQueue

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
    overlap = groups.add_parser("overlap", help="the overlap key of a schedule with overlap: skip")
    actions = overlap.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, handler, text in (
        ("show", _overlap_show, "which run holds the job's overlap key, since when"),
        ("free", _overlap_free, "free the key of a run that will never end: the next tick fires"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("job", metavar="JOB")
        add_config_arguments(action)
        action.set_defaults(handler=handler)
    actions.choices["free"].add_argument("--yes", action="store_true", help="really free it")


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


def _overlap_show(args: argparse.Namespace) -> int:
    holder, letter = _run(args, lambda queue: _holder(queue, args.job))
    key = _key(args.job)
    if holder is None:
        print(f"{key} is free: the next tick fires")
        return 0
    job_id, since = holder
    held = time.time() - since
    taken = dt.datetime.fromtimestamp(since, dt.UTC).isoformat(timespec="seconds")
    print(f"{key} held by job {job_id} for {held:.0f} s (since {taken})")
    if letter is not None:
        print(f"job {job_id} was dead-lettered ({letter.code}): its run ended; free the key")
    return 0


def _overlap_free(args: argparse.Namespace) -> int:
    if not args.yes:
        raise CommandError(
            "free lets the next tick run beside the held run if that run is still queued or running: "
            "pass --yes"
        )
    freed = _run(args, lambda queue: _free(queue, args.job))
    key = _key(args.job)
    print(f"{key} was free" if freed is None else f"freed {key} (held by job {freed})")
    return 0


async def _holder(queue: JobQueue, job: str) -> tuple[tuple[str, float] | None, DeadLetter | None]:
    holder = await queue.key_holder(_key(job))
    return holder, None if holder is None else await queue.dead_letter(holder[0])


async def _free(queue: JobQueue, job: str) -> str | None:
    # The holder read is the one freed: a run that took the key since keeps it.
    key = _key(job)
    holder = await queue.key_holder(key)
    if holder is not None:
        await queue.forget_key(key, holder[0])
    return None if holder is None else holder[0]


def _key(job: str) -> str:
    from microlib.jobs.definition import overlap_key

    return overlap_key(job)


def _skipping(service: Service, job: str) -> None:
    """Raise unless ``job`` is one of the service's with ``schedule.overlap: skip``."""
    contracts = service.jobs.contracts.values()
    jobs = {name: each for contract in contracts for name, each in contract.jobs.items()}
    found = jobs.get(job)
    if found is None:
        raise CommandError(f"no job {job!r} in the service; its jobs: {', '.join(sorted(jobs)) or 'none'}")
    if found.schedule is None or found.schedule.overlap != "skip":
        raise CommandError(f"job {job!r} ({found.source}) has no schedule with overlap: skip: no key to show")


def _run(args: argparse.Namespace, action: Callable[[JobQueue], Awaitable[T]]) -> T:
    # Imported by the command that uses them: `microlib run` builds this parser too.
    from microlib.jobs import open_queue

    service = load_service(args.target)
    service.configure(files=config_files(args.config), overrides=args.overrides)
    if args.group == "overlap":
        _skipping(service, args.job)
    settings = service.config.jobs
    if settings.backend == "memory":
        what = "overlap keys" if args.group == "overlap" else "dead letters"
        raise CommandError(
            f"jobs.url is memory://: {what} live in the service's process; "
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
