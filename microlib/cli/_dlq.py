"""The ``dlq list|show|replay|purge`` actions ``microlib jobs`` and ``microlib messages`` share."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from microlib.cli.run import add_config_arguments

Handler = Callable[[argparse.Namespace], int]


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
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
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
