"""The ``microlib`` command: a registry of subcommands.

Each subcommand lives in its own module with a ``register(subparsers)``
function; an error becomes a one-line cause and a non-zero exit, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from microlib.cli.errors import CommandError
from microlib.cli.version import VersionFlag
from microlib.config.errors import ConfigError
from microlib.core.extras import MissingExtra

__all__ = ["CommandError", "main"]

# Subcommand modules, in the order `microlib --help` lists them.
_COMMANDS = (
    "microlib.cli.new",
    "microlib.cli.run",
    "microlib.cli.config",
    "microlib.cli.codegen",
    "microlib.cli.db",
    "microlib.cli.jobs",
    "microlib.cli.messages",
    "microlib.cli.outbox",
    "microlib.cli.version",
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every available subcommand, or only ``command``'s.

    Args:
        command: The subcommand the arguments name: only its module is
            imported (``microlib run`` starts a service without loading what
            ``new``, ``db`` or ``messages`` need). None, or a name no module
            has, registers them all, for ``--help`` and argparse's errors.
    """
    parser = argparse.ArgumentParser(
        prog="microlib", description="Run, configure and generate code for microlib services."
    )
    parser.add_argument("--version", action=VersionFlag)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = f"microlib.cli.{command}"
    for name in _COMMANDS if chosen not in _COMMANDS else (chosen,):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    # An argument the command does not take is refused by the command's own parser (its usage).
    parser.set_defaults(command_parsers=subparsers.choices)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit code.

    A SIGTERM exits with status 143 until a command handles it itself
    (``run`` drains first): as PID 1 in a container the kernel drops a
    signal that has no handler, so one arriving while a service is imported
    would otherwise be lost and the pod killed only when its grace period ends.
    """
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        given = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(given[0] if given else None)
        args, unknown = parser.parse_known_args(given)
        if unknown:
            _refuse(args.command_parsers[args.command], args.command, unknown)
        try:
            code: int = args.handler(args)
        except (CommandError, ConfigError, MissingExtra) as exc:
            print(f"microlib {args.command}: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
        return code
    finally:
        # None: the previous handler was not set from Python; the default then.
        signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)


def _refuse(command: argparse.ArgumentParser, name: str, unknown: list[str]) -> NoReturn:
    """Exit with the command's usage (argparse's top-level one names no command), and for
    a setting given as a flag (``run --port 8081``), the ``--set`` that gives it."""
    message = f"unrecognized arguments: {' '.join(unknown)}"
    if name in ("run", "config") and any(arg.startswith("--") for arg in unknown):
        message += "; a setting is given with --set SECTION.KEY=VALUE (--set http.port=8081)"
    command.error(message)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)
