"""microlib.core: the kernel. Lifecycle, the interceptor chain, call context and errors.

It imports no other microlib package; every concern builds on it, and
:class:`microlib.Service` (``microlib.service``) composes them on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
    from microlib.core.chain import SLOTS, CallNext, Chain, Interceptor, Stage, compose
    from microlib.core.context import CallContext, CallKind, Principal, Rejected, current_context
    from microlib.core.errors import (
        Aborted,
        AlreadyExists,
        Cancelled,
        Code,
        ContractMismatch,
        DataLoss,
        DeadlineExceeded,
        Error,
        FailedPrecondition,
        FieldViolation,
        Internal,
        InvalidArgument,
        InvalidContract,
        NotFound,
        OutOfRange,
        PermissionDenied,
        ResourceExhausted,
        Unauthenticated,
        Unavailable,
        Unimplemented,
        Unknown,
    )
    from microlib.core.extras import MissingExtra, require
    from microlib.core.lifecycle import (
        Component,
        Drainable,
        DrainExpired,
        Leaving,
        Registration,
        ShutdownError,
        StartupError,
    )
    from microlib.core.propagation import Injector, Propagation, carried_content, job_content
    from microlib.core.tls import CLIENT_CERTIFICATE_ATTRIBUTE, CLIENT_SUBJECT_ATTRIBUTE

__all__ = [
    "CLIENT_CERTIFICATE_ATTRIBUTE",
    "CLIENT_SUBJECT_ATTRIBUTE",
    "SLOTS",
    "Aborted",
    "AlreadyExists",
    "CallContext",
    "CallKind",
    "CallNext",
    "Cancelled",
    "Chain",
    "Code",
    "Component",
    "ContractMismatch",
    "DataLoss",
    "DeadlineExceeded",
    "DrainExpired",
    "Drainable",
    "Error",
    "FailedPrecondition",
    "FieldViolation",
    "Injector",
    "Interceptor",
    "Internal",
    "InvalidArgument",
    "InvalidContract",
    "Leaving",
    "MissingExtra",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "Principal",
    "Propagation",
    "Registration",
    "Rejected",
    "ResourceExhausted",
    "ShutdownError",
    "Stage",
    "StartupError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "carried_content",
    "compose",
    "current_context",
    "job_content",
    "require",
]

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Aborted": "microlib.core.errors",
        "AlreadyExists": "microlib.core.errors",
        "CLIENT_CERTIFICATE_ATTRIBUTE": "microlib.core.tls",
        "CLIENT_SUBJECT_ATTRIBUTE": "microlib.core.tls",
        "CallContext": "microlib.core.context",
        "CallKind": "microlib.core.context",
        "CallNext": "microlib.core.chain",
        "Cancelled": "microlib.core.errors",
        "Chain": "microlib.core.chain",
        "Code": "microlib.core.errors",
        "Component": "microlib.core.lifecycle",
        "ContractMismatch": "microlib.core.errors",
        "DataLoss": "microlib.core.errors",
        "DeadlineExceeded": "microlib.core.errors",
        "DrainExpired": "microlib.core.lifecycle",
        "Drainable": "microlib.core.lifecycle",
        "Error": "microlib.core.errors",
        "FailedPrecondition": "microlib.core.errors",
        "FieldViolation": "microlib.core.errors",
        "Injector": "microlib.core.propagation",
        "Interceptor": "microlib.core.chain",
        "Internal": "microlib.core.errors",
        "InvalidArgument": "microlib.core.errors",
        "InvalidContract": "microlib.core.errors",
        "Leaving": "microlib.core.lifecycle",
        "MissingExtra": "microlib.core.extras",
        "NotFound": "microlib.core.errors",
        "OutOfRange": "microlib.core.errors",
        "PermissionDenied": "microlib.core.errors",
        "Principal": "microlib.core.context",
        "Propagation": "microlib.core.propagation",
        "Registration": "microlib.core.lifecycle",
        "Rejected": "microlib.core.context",
        "ResourceExhausted": "microlib.core.errors",
        "SLOTS": "microlib.core.chain",
        "ShutdownError": "microlib.core.lifecycle",
        "Stage": "microlib.core.chain",
        "StartupError": "microlib.core.lifecycle",
        "Unauthenticated": "microlib.core.errors",
        "Unavailable": "microlib.core.errors",
        "Unimplemented": "microlib.core.errors",
        "Unknown": "microlib.core.errors",
        "carried_content": "microlib.core.propagation",
        "compose": "microlib.core.chain",
        "current_context": "microlib.core.context",
        "job_content": "microlib.core.propagation",
        "require": "microlib.core.extras",
    },
)
