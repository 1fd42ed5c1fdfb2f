"""The ``dlq list|show|replay|purge`` actions ``microlib jobs`` and ``microlib messages`` share."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import structlog

from microlib.cli.run import add_config_arguments

Handler = Callable[[argparse.Namespace], int]


def quiet_logs() -> None:
    """Keep the command's output to its result or its one error line: the clients'
    own warnings (a refused connection, logged before it is raised) say the same
    thing again, in many lines."""
    logging.basicConfig(level=logging.CRITICAL, stream=sys.stderr)
    if not structlog.is_configured():
        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL),
            logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        )


def body_document(body: bytes) -> Any:
    """A message's body for a JSON document: JSON as JSON, text as text, anything else as base64."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode()}
    try:
        return json.loads(text)
    except ValueError:
        return text


def redacted(url: str) -> str:
    """``url`` with its credentials hidden, for error lines."""
    scheme, _, rest = url.partition("://")
    _, at, host = rest.rpartition("@")
    return f"{scheme}://{'***@' if at else ''}{host}"


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_dlq(
    groups: argparse._SubParsersAction[Any],
    *,
    help: str,
    item: str,
    list_: Handler,
    show: Handler,
    replay: Handler,
    purge: Handler,
    options: Callable[[argparse.ArgumentParser], None] = lambda _: None,
) -> None:
    """Add ``dlq`` and its four actions to ``groups``.

    Args:
        groups: The subcommand's groups (``jobs``' or ``messages``').
        help: The ``dlq`` group's help.
        item: What one dead letter is named by (``job_id``, ``message_id``).
        list_: Runs ``list``; the other handlers run the action they name.
        show: See ``list_``.
        replay: See ``list_``.
        purge: See ``list_``.
        options: Adds the command's own options to every action.
    """
    dlq = groups.add_parser("dlq", help=help)
    actions = dlq.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="the dead letters, oldest first")
    add_config_arguments(listing)
    options(listing)
    listing.add_argument("--limit", type=_at_least_one, default=100, help="at most this many (default 100)")
    listing.set_defaults(handler=list_)

    # The id before the optional TARGET: `show ID [TARGET]`.
    for name, handler, text in (
        ("show", show, "one dead letter, payload included"),
        ("replay", replay, "send a dead letter back, as attempt 1"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument(item, metavar=item.upper())
        add_config_arguments(action)
        options(action)
        action.set_defaults(handler=handler)

    purging = actions.add_parser("purge", help="drop every dead letter")
    add_config_arguments(purging)
    options(purging)
    purging.add_argument("--yes", action="store_true", help="really drop them")
    purging.set_defaults(handler=purge)
