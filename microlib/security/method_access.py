"""What every call of a proto method carries: the method, and its access rule.

gRPC and REST transcoding (and messages and jobs, as they come) start each
call of a method with :func:`call_attributes`, so a method's requirement is
read from its contract in one place and holds the same on each door. The
requirements module is imported only for a contract that declares access
rules: a service whose contracts declare none never loads it.
"""

from __future__ import annotations

from typing import Any

from microlib.contract.definition import METHOD_ATTRIBUTE, MethodDefinition

__all__ = ["call_attributes"]


def call_attributes(method: MethodDefinition) -> dict[str, Any]:
    """The ``ctx.attributes`` every call of ``method`` starts with, on every door.

    Args:
        method: The RPC.

    Returns:
        ``{"microlib.method": method}``, and the ``SecurityRequirement`` of
        its ``(microlib.v1.auth)`` option under ``"microlib.security"`` when
        the contract declares one.
    """
    attributes: dict[str, Any] = {METHOD_ATTRIBUTE: method}
    if "microlib.auth" in method.options:
        # Imported here: a contract without access rules never loads the requirements.
        from microlib.security.requirements import SECURITY_ATTRIBUTE, from_method_options

        attributes[SECURITY_ATTRIBUTE] = from_method_options(method.options)
    return attributes
