"""Start-up checks of a user's handler class against its generated interface.

Shared by message consumers and job handlers, whose handlers all read
``async def name(self, payload, ctx)``: whether a handler's payload
annotation still names the types its contract carries, and which methods
of the user's class are shaped like handlers (to find those the contract
no longer has).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Set
from typing import Any

__all__ = ["handler_methods", "payload_problem"]


def payload_problem(method: Any, carried: Set[type]) -> str:
    """What is wrong with ``method``'s payload annotation, or ``""``.

    Args:
        method: The bound handler.
        carried: The types the contract's payload may be.

    Returns:
        ``""`` when the annotation is one of them (or their union), absent,
        ``Any`` or unresolvable at run time (mypy checks those); else why not.
    """
    signature = inspect.signature(method)
    try:
        signature.bind(None, None)
    except TypeError:
        return f"cannot be called with (payload, ctx): its parameters are {signature}"
    names = " | ".join(sorted(t.__name__ for t in carried))
    payload = next(iter(signature.parameters))
    try:
        hints = typing.get_type_hints(method)
    except AttributeError as exc:
        # ``models.OrderPlaced`` after regeneration renamed or removed the
        # message: the module is there, the type is not. That is drift.
        written = inspect.get_annotations(method).get(payload, "?")
        return f"payload is annotated {written}, which no longer exists ({exc}), the contract carries {names}"
    except (NameError, TypeError):
        return ""  # names imported only for type checking: mypy checks those
    annotation = hints.get(payload)
    if annotation is None or annotation is Any:
        return ""
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    got = set(typing.get_args(annotation)) if is_union else {annotation}
    if got == set(carried):
        return ""
    shown = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return f"payload is annotated {shown}, the contract carries {names}"


def handler_methods(cls: type, interface: type | None) -> set[str]:
    """Methods of the user's classes shaped like handlers: ``async def x(self, payload, ctx)``."""
    skip = set(interface.__mro__) if interface is not None else {object}
    found = set()
    for klass in cls.__mro__:
        if klass in skip or klass is object:
            continue
        for name, value in vars(klass).items():
            if inspect.iscoroutinefunction(value) and list(inspect.signature(value).parameters)[1:] == [
                "payload",
                "ctx",
            ]:
                found.add(name)
    return found
