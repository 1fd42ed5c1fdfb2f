"""microlib config show: the effective configuration and where each value came from."""

# The docstring is the command's --help text: plain text, not reStructuredText.

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from microlib.cli._target import load_service
from microlib.cli.errors import CommandError
from microlib.cli.run import add_config_arguments, config_files
from microlib.config import ConfigError, LoadedConfig, Settings, load_config

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``config`` subcommand and its ``show`` action."""
    parser = subparsers.add_parser("config", help="inspect the configuration", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="print the effective configuration, the source of each value, secrets masked",
        description=(
            "Print the effective configuration as YAML; a comment after each value names its source "
            "(file:line, environment variable, --set or default). Secrets are masked. Without TARGET "
            "and without ./pyproject.toml, the framework's own settings are shown."
        ),
    )
    add_config_arguments(show)
    show.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> int:
    try:
        loaded = _load(args.target, config_files(args.config), args.overrides)
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc
    sys.stdout.write(loaded.render(masked=True))
    return 0


def _load(target: str | None, files: list[str], overrides: list[str]) -> LoadedConfig[Settings]:
    """The configuration exactly as ``microlib run`` with the same arguments would load it."""
    if target is None and not Path("pyproject.toml").is_file():
        return load_config(Settings, files=files, overrides=overrides)
    service = load_service(target)
    service.configure(files=files, overrides=overrides)
    return service.live_config.current
