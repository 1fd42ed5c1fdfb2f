"""Package exports imported on first use (PEP 562).

A package ``__init__`` that imported every module it exports would make
``import microlib`` pay for every concern (grpcio, SQLAlchemy...) whether a
service uses it or not. Instead it lists where each name lives, and a name is
imported the first time it is read; type checkers see the plain imports
under ``TYPE_CHECKING``.

A lazy export is written in three places of the package ``__init__``: the
``TYPE_CHECKING`` import, ``__all__`` and the ``where`` mapping. None can
drift unnoticed: ruff (F822) fails a name of ``__all__`` that nothing
imports, and :func:`lazy_exports` fails the package's import when
``where`` and ``__all__`` differ.
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

    Raises:
        ImportError: ``where`` and the package's ``__all__`` (less the names it
            defines itself) name different sets.
    """
    namespace = sys.modules[package].__dict__
    # A name the package defines itself (``__version__``) is exported without a module.
    exported, lazy = set(namespace.get("__all__", where)) - set(namespace), set(where)
    if exported != lazy:
        raise ImportError(
            f"{package}: __all__ and the lazy exports differ: only in __all__ "
            f"{sorted(exported - lazy)}, only in the exports {sorted(lazy - exported)}"
        )

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
