"""Find the Service a command acts on: ``module:attribute`` or pyproject's default."""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from pathlib import Path

from microlib.cli.errors import CommandError
from microlib.core.service import Service

__all__ = ["load_service"]


def load_service(target: str | None) -> Service:
    """Import ``target`` (``package.module:attribute``) and return its Service.

    Without a target, ``[tool.microlib] service`` in ``./pyproject.toml`` is
    used. The working directory is importable, as with uvicorn.

    Raises:
        CommandError: naming what could not be found.
    """
    target = target or _default_target()
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise CommandError(f"target {target!r} must look like 'package.module:attribute'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise CommandError(f"cannot import module {module_name!r} (from target {target!r})") from None
        raise
    try:
        service = getattr(module, attribute)
    except AttributeError:
        raise CommandError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(service, Service):
        raise CommandError(f"{target!r} is a {type(service).__name__}, not a microlib Service")
    return service


def _default_target() -> str:
    pyproject = Path("pyproject.toml")
    if pyproject.is_file():
        with pyproject.open("rb") as f:
            target = tomllib.load(f).get("tool", {}).get("microlib", {}).get("service")
        if isinstance(target, str):
            return target
    raise CommandError(
        "no TARGET given and no [tool.microlib] service = 'module:attribute' in ./pyproject.toml"
    )
