"""``microlib config show``: the effective configuration and where each value came from."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from microlib.cli.main import CommandError
from microlib.config import ConfigError, Settings, load_config

__all__ = ["register", "resolve_sections"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``config`` subcommand and its ``show`` action."""
    parser = subparsers.add_parser("config", help="inspect the configuration", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="print the effective configuration, the source of each value, secrets masked",
        description=(
            "Print the effective configuration as YAML; a comment after each value names its source "
            "(file:line, environment variable, --set or default). Secrets are masked."
        ),
    )
    show.add_argument(
        "target",
        nargs="?",
        help="module:attribute of a microlib Service; its settings sections are included",
    )
    show.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FILE",
        help="a YAML or TOML config file (repeatable, later files win)",
    )
    show.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="KEY=VALUE",
        help="override one value, e.g. --set http.port=8081 (repeatable)",
    )
    show.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> int:
    sections = resolve_sections(args.target) if args.target else None
    try:
        loaded = load_config(Settings, sections=sections, files=args.config, overrides=args.overrides)
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc
    sys.stdout.write(loaded.render(masked=True))
    return 0


def resolve_sections(target: str) -> Mapping[str, type[BaseModel]]:
    """Import ``module:attribute`` and return its ``sections`` (none if it has no such attribute).

    The current directory is importable, as it is for ``python -m``.

    Raises:
        CommandError: the target is malformed, cannot be imported or has
            ``sections`` that are not a mapping of names to pydantic models.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise CommandError(f"target {target!r} must be module:attribute, e.g. myservice.main:service")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise CommandError(f"cannot import {module_name!r}: {exc}") from exc
    except Exception as exc:
        raise CommandError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise CommandError(f"{module_name!r} has no attribute {attribute!r}") from None
    sections = getattr(found, "sections", None)
    if sections is None:
        return {}
    if not isinstance(sections, Mapping) or not all(
        isinstance(key, str) and isinstance(model, type) and issubclass(model, BaseModel)
        for key, model in sections.items()
    ):
        raise CommandError(f"{target}.sections must map section names to pydantic models")
    return dict(sections)
