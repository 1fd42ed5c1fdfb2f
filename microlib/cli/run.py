"""``microlib run``: configure a Service and serve it until a signal."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from microlib.core.errors import ContractMismatch, InvalidContract

__all__ = ["DEFAULT_CONFIG", "add_config_arguments", "config_files", "register"]

DEFAULT_CONFIG = "microlib.yaml"
"""The project's config file, read from the working directory when it exists."""


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
        help=f"a YAML or TOML config file, above ./{DEFAULT_CONFIG} (read when present); "
        "repeat for several, later ones win",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="KEY=VALUE",
        help="override one setting, e.g. --set http.port=8081 (highest precedence)",
    )


def config_files(given: Sequence[str]) -> list[str]:
    """The config files a command reads: ``./microlib.yaml`` when it exists,
    then the ``--config`` files, which override it (naming it again changes nothing)."""
    default = Path(DEFAULT_CONFIG)
    if not default.is_file() or any(Path(f).resolve() == default.resolve() for f in given):
        return list(given)
    return [DEFAULT_CONFIG, *given]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="run a service until SIGTERM/SIGINT",
        description="Load the configuration, start every component, serve, and shut down gracefully.",
    )
    add_config_arguments(parser)
    parser.add_argument(
        "--reload",
        action="store_true",
        help="development: restart when code, contracts or config change (regenerating code first)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.reload:
        from microlib.cli.reload import serve_with_reload

        return serve_with_reload(_child_arguments(args))
    # The collector is paused while the service's modules import and its
    # configuration loads: they allocate hundreds of thousands of objects and
    # free almost none, so each collection then walks a growing heap for
    # nothing (4% of the instructions to ready). What they built lives as long
    # as the process: frozen, as `lifecycle.freeze_heap` has it once started.
    gc.disable()
    try:
        from microlib.cli._target import load_service
        from microlib.core.lifecycle import ShutdownError, StartupError

        service = load_service(args.target)
        service.configure(files=config_files(args.config), overrides=args.overrides)
        if service.config.lifecycle.freeze_heap:
            gc.freeze()
    finally:
        gc.enable()
    try:
        service.run()
    except (StartupError, ShutdownError) as exc:
        print(f"microlib run: {exc}", file=sys.stderr)
        return 1
    except (ContractMismatch, InvalidContract) as exc:  # found while the service is assembled
        print(f"microlib run: {exc}", file=sys.stderr)
        return 1
    finally:
        # The heap is dropped whole at exit: without this, the interpreter's
        # last collections walk every object the imports built (0.2 s and
        # more after "service stopped"), holding the orchestrator's wait.
        gc.freeze()
    return 0


def _child_arguments(args: argparse.Namespace) -> list[str]:
    """The ``run`` arguments again, without ``--reload``, for the child that serves."""
    argv = [args.target] if args.target else []
    for file in args.config:
        argv += ["--config", file]
    for override in args.overrides:
        argv += ["--set", override]
    return argv
