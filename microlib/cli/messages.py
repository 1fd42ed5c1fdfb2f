"""``microlib messages dlq list|show|replay|purge``: the dead letters of a service's consumers.

The broker comes from the service's ``messaging`` configuration (TARGET,
``--config``, ``--set``), the consumers and their groups from what the
service includes; ``--operation`` narrows a command to one consumer. With
the embedded ``memory://`` broker the dead letters live in the service's
own process, so there is nothing to reach.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from microlib.cli._dlq import add_dlq, body_document, quiet_logs, redacted
from microlib.cli._target import load_service
from microlib.cli.errors import CommandError
from microlib.cli.run import config_files
from microlib.config.model import MessagingSettings
from microlib.core.errors import Error

if TYPE_CHECKING:
    from microlib.messaging import Broker, OutgoingMessage

__all__ = ["register"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Consumer:
    operation: str
    queue: str


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``messages`` subcommand and its ``dlq`` actions."""
    parser = subparsers.add_parser("messages", help="inspect and replay dead-lettered messages")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    add_dlq(
        groups,
        help="the consumers' dead letters",
        item="message_id",
        list_=_list,
        show=_show,
        replay=_replay,
        purge=_purge,
        options=_operation_argument,
    )


def _operation_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--operation", "-o", metavar="OPERATION", help="only this receive operation's consumer"
    )


def _list(args: argparse.Namespace) -> int:
    async def action(broker: Broker, consumers: list[_Consumer]) -> list[tuple[str, OutgoingMessage]]:
        return [
            (c.operation, letter)
            for c in consumers
            for letter in await broker.dead_letters(c.queue, limit=args.limit)
        ]

    letters = _run(args, action)
    for operation, letter in letters:
        h = letter.headers
        print(
            f"{letter.message_id}  {operation}  {h.get('x-microlib-dead-letter-reason', '?')}  "
            f"attempts={h.get('x-microlib-attempts', '?')}  {h.get('x-microlib-error-code', '?')}  "
            f"{_when(h.get('x-microlib-dead-lettered-at'))}  {h.get('x-microlib-error', '')}"
        )
    print(f"{len(letters)} dead letter(s)", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    async def action(broker: Broker, consumers: list[_Consumer]) -> tuple[_Consumer, OutgoingMessage] | None:
        for c in consumers:
            # Dead letters are few; a consumer's are read whole to find one.
            for letter in await broker.dead_letters(c.queue, limit=1_000_000):
                if letter.message_id == args.message_id:
                    return c, letter
        return None

    found = _run(args, action)
    if found is None:
        raise CommandError(f"no dead letter {args.message_id}")
    consumer, letter = found
    document = {
        "message_id": letter.message_id,
        "operation": consumer.operation,
        "queue": consumer.queue,
        "address": letter.address,
        "key": letter.key,
        "correlation_id": letter.correlation_id,
        "content_type": letter.content_type,
        "headers": dict(letter.headers),
        "payload": body_document(letter.body),
    }
    print(json.dumps(document, indent=2, sort_keys=True))
    return 0


def _replay(args: argparse.Namespace) -> int:
    async def action(broker: Broker, consumers: list[_Consumer]) -> bool:
        for c in consumers:
            if await broker.replay_dead_letter(c.queue, args.message_id):
                return True
        return False

    if not _run(args, action):
        raise CommandError(f"no dead letter {args.message_id}")
    print(f"replayed {args.message_id}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    if not args.yes:
        raise CommandError("purge drops every dead letter for good: pass --yes")

    async def action(broker: Broker, consumers: list[_Consumer]) -> int:
        return sum([await broker.purge_dead_letters(c.queue) for c in consumers])

    print(f"purged {_run(args, action)} dead letter(s)")
    return 0


def _when(stamp: str | None) -> str:
    try:
        return dt.datetime.fromtimestamp(float(stamp or ""), dt.UTC).isoformat(timespec="seconds")
    except ValueError:
        return "?"


def _consumers(
    args: argparse.Namespace,
    settings: MessagingSettings,
    default_group: str,
    found: list[object],
    broker: Broker,
) -> list[_Consumer]:
    # Imported by the command that uses them: `microlib run` builds this parser too.
    from microlib.messaging.runtime import application_of, consumer_address, consumer_group

    operations = [op for c in found if (app := application_of(c)) is not None for op in app.receives()]
    if not operations:
        raise CommandError("the service includes no AsyncAPI consumer: it has no dead letters")
    if args.operation is not None:
        chosen = [op for op in operations if args.operation in (op.name, op.python_name)]
        if not chosen:
            known = ", ".join(sorted(op.name for op in operations))
            raise CommandError(
                f"--operation {args.operation!r}: the service receives no such operation; known: {known}"
            )
        operations = chosen
    # Operations whose contract names one queue share its dead letters: listed once.
    by_queue: dict[str, list[str]] = {}
    for op in operations:
        group = consumer_group(settings, op, default_group)
        queue = broker.queue(op, group=group, address=consumer_address(settings, op))
        by_queue.setdefault(queue, []).append(op.name)
    return [_Consumer("|".join(names), queue) for queue, names in by_queue.items()]


def _run(args: argparse.Namespace, action: Callable[[Broker, list[_Consumer]], Awaitable[T]]) -> T:
    service = load_service(args.target)
    service.configure(files=config_files(args.config), overrides=args.overrides)
    settings = service.config.messaging
    if settings.url.startswith("memory://"):
        raise CommandError(
            "messaging.url is memory://: dead letters live in the service's process; "
            "configure a broker (amqp://, kafka://, redis://) to inspect them"
        )
    quiet_logs()

    from microlib.messaging import open_broker

    try:
        broker = open_broker(settings, client_name=f"{service.info.name}-cli")
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    try:
        consumers = _consumers(args, settings, service.info.name, list(service.consumers), broker)
    except ValueError as exc:  # a queue the broker cannot name from the settings
        raise CommandError(str(exc)) from None

    async def main() -> T:
        try:
            await broker.start()
            return await action(broker, consumers)
        finally:
            await broker.stop()

    try:
        return asyncio.run(main())
    except Error as exc:
        raise CommandError(f"{exc.message} (messaging.url {redacted(settings.url)})") from None
    except ImportError as exc:
        raise CommandError(str(exc)) from None
