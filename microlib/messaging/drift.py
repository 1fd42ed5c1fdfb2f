"""The start-up drift check of a consumer against its AsyncAPI document.

:func:`check_consumer` refuses a consumer that lacks the handler of a
receive operation (or only inherits the generated interface's, which raises
``Unimplemented``), whose handler annotates its payload with other types
than the contract's messages carry, or that still defines a handler the
contract no longer has. The service then fails at start naming each one,
instead of dead-lettering every message at run time; ``microlib codegen``
reports the same against the stub's source before anything runs.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from microlib.core.errors import ContractMismatch
from microlib.messaging.definition import ApplicationDefinition, OperationDefinition

__all__ = ["check_consumer"]


def check_consumer(definition: ApplicationDefinition, consumer: object) -> None:
    """Refuse a consumer that does not implement its contract's receive operations.

    Args:
        definition: The generated ``DEFINITION`` of the AsyncAPI document.
        consumer: The user's implementation of its consumer interface.

    Raises:
        ContractMismatch: Naming the consumer class and each missing handler (with
            its operation), each handler whose payload type changed, and
            each handler of an operation the contract no longer has.
    """
    cls = type(consumer)
    interface = definition.consumer_protocol
    expected = {op.python_name: op for op in definition.receives()}
    problems = []
    for name, op in expected.items():
        method = getattr(consumer, name, None)
        # The interface's own method only raises Unimplemented: inheriting
        # it means the implementation forgot the handler.
        if not callable(method) or getattr(cls, name, None) is getattr(interface, name, None):
            problems.append(f"{name} is missing (operation {op.name})")
            continue
        wrong = _payload_problem(method, op)
        if wrong:
            problems.append(f"{name} (operation {op.name}): {wrong}")
    for name in sorted(_handlers(cls, interface) - expected.keys()):
        problems.append(f"{name} handles no receive operation any more (removed or renamed in the contract)")
    if problems:
        raise ContractMismatch(
            f"consumer {cls.__qualname__} of {definition.title} {definition.version}: " + "; ".join(problems)
        )


def _payload_problem(method: Any, op: OperationDefinition) -> str:
    signature = inspect.signature(method)
    try:
        signature.bind(None, None)
    except TypeError:
        return f"cannot be called with (payload, ctx): its parameters are {signature}"
    carried = {m.payload_type for m in op.messages}
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
        return ""  # unannotated, or deliberately untyped: nothing to compare
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    got = set(typing.get_args(annotation)) if is_union else {annotation}
    if got == carried:
        return ""
    return f"payload is annotated {_shown(annotation)}, the contract carries {names}"


def _shown(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _handlers(cls: type, interface: type | None) -> set[str]:
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
