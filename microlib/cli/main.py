"""The ``microlib`` command: a registry of subcommands.

Each subcommand lives in its own module with a ``register(subparsers)``
function; an error becomes a one-line cause and a non-zero exit, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from microlib.cli.errors import CommandError
from microlib.config.errors import ConfigError

__all__ = ["CommandError", "main"]

# Subcommand modules, in the order `microlib --help` lists them.
_COMMANDS = (
    "microlib.cli.run",
    "microlib.cli.config",
    "microlib.cli.codegen",
    "microlib.cli.db",
    "microlib.cli.version",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="microlib", description="Run, configure and generate code for microlib services."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except CommandError as exc:
        print(f"microlib {args.command}: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"microlib {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
