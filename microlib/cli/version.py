"""``microlib version``: print the installed versions."""

from __future__ import annotations

import argparse
import importlib.metadata
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``version`` subcommand."""
    parser = subparsers.add_parser("version", help="print microlib's version and its generator's")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    for dist in ("microlib", "microlib-codegen"):
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        print(f"{dist} {version}")
    return 0
