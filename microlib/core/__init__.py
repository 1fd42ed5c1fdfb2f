"""microlib.core: the kernel. Lifecycle, the interceptor chain, call context and errors.

It imports no other microlib package; every concern builds on it, and
:class:`microlib.Service` (``microlib.service``) composes them on top.
"""

from __future__ import annotations

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
