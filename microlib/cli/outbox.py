"""``microlib outbox status|skip``: what the outbox has not sent, and a way past a message the
broker refuses for good.

A message the broker does not take stays at the head of its key, and the
messages behind it wait (docs/outbox.md): ``status`` lists those heads with
their attempts and last error; ``skip`` deletes one, printing it first, so
its key goes on. The database comes from the service's ``database``
configuration (TARGET, ``--config``, ``--set``) or ``--url``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from microlib.cli._dlq import body_document, quiet_logs
from microlib.cli.db import database_settings, with_database
from microlib.cli.errors import CommandError
from microlib.cli.run import add_config_arguments

if TYPE_CHECKING:
    from microlib.data.database import Database
    from microlib.messaging.outbox.store import OutboxRow, OutboxStore

__all__ = ["register"]

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``outbox`` subcommand and its actions."""
    common = argparse.ArgumentParser(add_help=False)
    add_config_arguments(common)
    common.add_argument("--url", help="the database URL (overrides the config)")
    parser = subparsers.add_parser("outbox", help="inspect the outbox, skip a message the broker refuses")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    status = actions.add_parser(
        "status", parents=[common], help="the backlog, and the messages the broker did not take"
    )
    status.add_argument("--limit", type=int, default=20, help="failing messages listed (default 20)")
    status.set_defaults(handler=_status)

    skip = actions.add_parser(
        "skip", parents=[common], help="delete an unsent message (printed first) so its key goes on"
    )
    skip.add_argument("message_id", metavar="MESSAGE_ID")
    skip.add_argument("--yes", action="store_true", help="confirm: the message is never sent")
    skip.set_defaults(handler=_skip)


def _status(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CommandError(f"--limit must be at least 1, got {args.limit}")

    async def action(store: OutboxStore) -> tuple[int, float | None, list[OutboxRow]]:
        count, oldest = await store.stats()
        return count, oldest, await store.failing(args.limit)

    count, oldest, failing = _run(args, action)
    now = time.time()
    age = "" if oldest is None else f", the oldest {now - oldest:.0f}s old"
    print(f"{count} message(s) not sent yet{age}")
    if not failing:
        print("no message is failing")
        return 0
    print("failing (each holds back the messages behind it in its key):")
    for row in failing:
        print(
            f"  {row.message_id}  {row.operation}  key={row.key or '-'}  attempts={row.attempts}  "
            f"age={now - row.created_at:.0f}s  {row.last_error or ''}"
        )
    return 0


def _skip(args: argparse.Namespace) -> int:
    if not args.yes:
        raise CommandError("skip deletes the message: it is never sent; pass --yes")

    async def action(store: OutboxStore) -> OutboxRow | None:
        return await store.skip(args.message_id)

    row = _run(args, action)
    if row is None:
        raise CommandError(f"no unsent outbox message {args.message_id}")
    document = {
        "message_id": row.message_id,
        "operation": row.operation,
        "channel": row.channel,
        "address": row.address,
        "key": row.key,
        "correlation_id": row.correlation_id,
        "content_type": row.content_type,
        "headers": json.loads(row.headers),
        "payload": body_document(row.body),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": row.created_at,
    }
    print(json.dumps(document, indent=2, sort_keys=True))
    print(f"skipped {row.message_id}: the messages behind it in its key go on", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, action: Callable[[OutboxStore], Awaitable[T]]) -> T:
    settings, origin, _ = database_settings(args)
    quiet_logs()
    from sqlalchemy import exc as sa_exc

    from microlib.messaging.outbox.store import OutboxStore

    async def on(db: Database) -> T:
        try:
            return await action(OutboxStore(db.engine))
        except sa_exc.DBAPIError as exc:
            # The outbox's table is missing (never migrated) or unreadable: the server's words.
            raise CommandError(
                f"cannot read the outbox (database.url from {origin}): {exc.orig}; its table comes with "
                "`microlib db upgrade` when messaging.outbox.enabled is true"
            ) from None

    return with_database(settings, origin, on, create=False)
