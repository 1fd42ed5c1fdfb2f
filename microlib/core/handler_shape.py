"""Start-up checks of a user's handler class against its generated interface.

Whether the framework can call a handler as it will (gRPC servicers, OpenAPI
handlers, message consumers and job handlers): a slip there would otherwise
start the service and fail every call. Message consumers and job handlers
read ``async def name(self, payload, ctx)``: whether a handler's payload
annotation still names the types its contract carries, and which methods
of the user's class are shaped like handlers (to find those the contract
no longer has).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Collection, Set
from typing import Any

__all__ = ["call_problem", "handler_methods", "payload_problem"]


def call_problem(
    method: Any, args: Collection[str] = (), kwargs: Collection[str] = (), *, stream: bool = False
) -> str:
    """Why the framework cannot call ``method`` as it will, or ``""``.

    Args:
        method: The bound handler.
        args: The names of the positional arguments it is given (``request``, ``ctx``).
        kwargs: The keyword arguments it is given.
        stream: Its result is iterated (a server stream) rather than awaited.

    Returns:
        ``""`` when it binds those arguments and, for a method of the user's
        class, is ``async def`` (an async generator, or a plain function
        returning an AsyncIterator, when ``stream``); else what is wrong.
        Another callable (a ``functools.partial``, an object) is only bound.
    """
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return ""  # a callable without a signature (a builtin): nothing to check
    try:
        signature.bind(*(None for _ in args), **dict.fromkeys(kwargs))
    except TypeError:
        given = ", ".join([*args, *(f"{name}=" for name in kwargs)])
        return f"cannot be called with ({given}): its parameters are {signature}"
    function = inspect.unwrap(getattr(method, "__func__", method))
    if not inspect.isfunction(function):
        return ""
    if stream and inspect.iscoroutinefunction(function):
        return (
            "must be an async generator (`async def` with `yield`) or return an AsyncIterator, "
            "not `async def` returning once"
        )
    if not stream and not inspect.iscoroutinefunction(function):
        what = "an async generator" if inspect.isasyncgenfunction(function) else "a plain `def`"
        return f"must be `async def` returning once, not {what}"
    return ""


def payload_problem(method: Any, carried: Set[type]) -> str:
    """What is wrong with ``method``'s payload annotation, or ``""``.

    Args:
        method: The bound handler.
        carried: The types the contract's payload may be.

    Returns:
        ``""`` when the annotation is one of them (or their union), absent,
        ``Any`` or unresolvable at run time (mypy checks those); else why not.
    """
    shape = call_problem(method, ("payload", "ctx"))
    if shape:
        return shape
    signature = inspect.signature(method)
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
