"""microlib.core: the service, its lifecycle, the interceptor chain, errors and context."""

from __future__ import annotations

from microlib.core.chain import SLOTS, CallNext, Chain, Interceptor, compose
from microlib.core.context import CallContext, CallKind, Principal, current_context
from microlib.core.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    Code,
    DataLoss,
    DeadlineExceeded,
    Error,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)
from microlib.core.lifecycle import Component, Drainable, Registration, StartupError
from microlib.core.service import Service, ServiceInfo, ShutdownHook

__all__ = [
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
    "DataLoss",
    "DeadlineExceeded",
    "Drainable",
    "Error",
    "FailedPrecondition",
    "FieldViolation",
    "Interceptor",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "Principal",
    "Registration",
    "ResourceExhausted",
    "Service",
    "ServiceInfo",
    "ShutdownHook",
    "StartupError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "compose",
    "current_context",
]
