"""``microlib run``: configure a Service and serve it until a signal."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from microlib.cli._target import load_service
from microlib.core.lifecycle import StartupError

__all__ = ["add_config_arguments", "register"]


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that loads a service's config shares."""
    parser.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="the Service as module:attribute (default: [tool.microlib] service in pyproject.toml)",
    )
    parser.add_argument(
        "--config",
        "-c",
        action="append",
        default=[],
        metavar="FILE",
        help="a YAML or TOML config file; repeat for several, later ones win",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="KEY=VALUE",
        help="override one setting, e.g. --set http.port=8081 (highest precedence)",
    )


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="run a service until SIGTERM/SIGINT",
        description="Load the configuration, start every component, serve, and shut down gracefully.",
    )
    add_config_arguments(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    service = load_service(args.target)
    service.configure(files=args.config, overrides=args.overrides)
    try:
        service.run()
    except StartupError as exc:
        print(f"microlib run: {exc}", file=sys.stderr)
        return 1
    return 0
