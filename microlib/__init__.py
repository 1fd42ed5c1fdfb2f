"""microlib: contract-first Python microservices.

The names almost every service imports are here; each subpackage exports
the rest of its public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
    from microlib.core.chain import Interceptor
    from microlib.core.context import CallContext, Principal, current_context
    from microlib.core.errors import Code, Error, FieldViolation
    from microlib.core.lifecycle import Component
    from microlib.service import Service

__all__ = [
    "CallContext",
    "Code",
    "Component",
    "Error",
    "FieldViolation",
    "Interceptor",
    "Principal",
    "Service",
    "__version__",
    "current_context",
]

__version__ = "0.1.0"

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CallContext": "microlib.core.context",
        "Code": "microlib.core.errors",
        "Component": "microlib.core.lifecycle",
        "Error": "microlib.core.errors",
        "FieldViolation": "microlib.core.errors",
        "Interceptor": "microlib.core.chain",
        "Principal": "microlib.core.context",
        "Service": "microlib.service",
        "current_context": "microlib.core.context",
    },
)
