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

from microlib.core.errors import ContractMismatch
from microlib.core.handler_shape import handler_methods, payload_problem
from microlib.messaging.definition import ApplicationDefinition

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
        wrong = payload_problem(method, {m.payload_type for m in op.messages})
        if wrong:
            problems.append(f"{name} (operation {op.name}): {wrong}")
    for name in sorted(handler_methods(cls, interface) - expected.keys()):
        problems.append(f"{name} handles no receive operation any more (removed or renamed in the contract)")
    if problems:
        raise ContractMismatch(
            f"consumer {cls.__qualname__} of {definition.title} {definition.version}: " + "; ".join(problems)
        )
