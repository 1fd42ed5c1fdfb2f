"""Package exports imported on first use (PEP 562).

A package ``__init__`` that imported every module it exports would make
``import microlib`` pay for every concern (grpcio, SQLAlchemy...) whether a
service uses it or not. Instead it lists where each name lives, and a name is
imported the first time it is read; type checkers see the plain imports
under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``.

    Args:
        package: The package's ``__name__``.
        where: Each exported name and the module that defines it.

    Returns:
        ``(__getattr__, __dir__)``, to assign at the package's top level.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
