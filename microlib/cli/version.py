"""``microlib version`` and ``microlib --version``: print the installed versions."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["VersionFlag", "register", "versions"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``version`` subcommand."""
    parser = subparsers.add_parser("version", help="print microlib's version and its generator's")
    parser.set_defaults(handler=_run)


class VersionFlag(argparse.Action):
    """``--version``: print :func:`versions` and exit 0, looked up only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the installed versions and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(versions())
        parser.exit()


def versions() -> str:
    """One line per distribution: ``microlib 0.1.0``, ``microlib-codegen 0.1.0``."""
    # Imported when asked: `microlib run` imports this module before it pauses the
    # collector, and importlib.metadata's imports cost it nine collections there.
    import importlib.metadata

    lines = []
    for dist in ("microlib", "microlib-codegen"):
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        lines.append(f"{dist} {version}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    print(versions())
    return 0
