"""Interpolation resolvers: ``${NAME:arg}`` where ``NAME`` is registered here.

A resolver turns the text after the colon into a value, for example the
security package registers ``secret`` so that
``${secret:vault:kv/app#db_password}`` reads a secret store. Any name that is
not a registered resolver is an environment variable reference.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Resolver", "get_resolver", "register_resolver"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Resolver:
    """A registered resolver.

    Args:
        name: The lowercase name used in ``${name:arg}``.
        resolve: Turns ``arg`` into the value's text; an exception becomes a
            configuration problem naming the file and line.
        sensitive: Whether its values are secrets, masked wherever the
            configuration is printed.
    """

    name: str
    resolve: Callable[[str], str]
    sensitive: bool = False


_registry: dict[str, Resolver] = {}
_lock = threading.Lock()


def register_resolver(
    name: str, resolve: Callable[[str], str], *, sensitive: bool = False
) -> Callable[[], None]:
    """Make ``${name:arg}`` call ``resolve(arg)`` in config files.

    Args:
        name: Lowercase letters, digits and ``_``, starting with a letter.
        resolve: Called with the text after the first colon.
        sensitive: Mask every value this resolver produces.

    Returns:
        A function that unregisters the resolver.

    Raises:
        ValueError: the name is not lowercase or is already registered.
    """
    if not _NAME.match(name):
        raise ValueError(f"resolver name {name!r} must match {_NAME.pattern}")
    resolver = Resolver(name, resolve, sensitive)
    with _lock:
        if name in _registry:
            raise ValueError(f"a resolver named {name!r} is already registered")
        _registry[name] = resolver

    def unregister() -> None:
        with _lock:
            if _registry.get(name) is resolver:
                del _registry[name]

    return unregister


def get_resolver(name: str) -> Resolver | None:
    """The resolver registered as ``name``, if any."""
    return _registry.get(name)
