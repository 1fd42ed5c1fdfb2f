"""microlib: contract-first Python microservices.

The names almost every service imports are here; each subpackage exports
the rest of its public API.
"""

from __future__ import annotations

from microlib.core import (
    CallContext,
    Code,
    Component,
    Error,
    FieldViolation,
    Interceptor,
    Principal,
    current_context,
)
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
