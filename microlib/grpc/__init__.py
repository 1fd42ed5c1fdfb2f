"""microlib.grpc: serve and call contract-first gRPC services on grpc.aio.

``GrpcServer`` runs generated servicers through the shared interceptor chain;
``Client`` is the base of generated typed clients. See ``docs/grpc.md``.
The definitions generated code describes a service with (``ServiceDefinition``,
``MethodDefinition``, ``HttpRule``) are not gRPC's own: REST transcoding reads
them too, and they live in :mod:`microlib.contract`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
    from microlib.config.model import GrpcKeepaliveSettings, GrpcSettings, GrpcTlsSettings
    from microlib.grpc.client import Client, Metadata
    from microlib.grpc.deadline import DeadlineInterceptor
    from microlib.grpc.errors import error_from_rpc_error, error_from_status, status_for
    from microlib.grpc.health import HealthService
    from microlib.grpc.server import GrpcServer
    from microlib.grpc.validation import ValidationInterceptor, make_validator

__all__ = [
    "Client",
    "DeadlineInterceptor",
    "GrpcKeepaliveSettings",
    "GrpcServer",
    "GrpcSettings",
    "GrpcTlsSettings",
    "HealthService",
    "Metadata",
    "ValidationInterceptor",
    "error_from_rpc_error",
    "error_from_status",
    "make_validator",
    "status_for",
]

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Client": "microlib.grpc.client",
        "DeadlineInterceptor": "microlib.grpc.deadline",
        "GrpcKeepaliveSettings": "microlib.config.model",
        "GrpcServer": "microlib.grpc.server",
        "GrpcSettings": "microlib.config.model",
        "GrpcTlsSettings": "microlib.config.model",
        "HealthService": "microlib.grpc.health",
        "Metadata": "microlib.grpc.client",
        "ValidationInterceptor": "microlib.grpc.validation",
        "error_from_rpc_error": "microlib.grpc.errors",
        "error_from_status": "microlib.grpc.errors",
        "make_validator": "microlib.grpc.validation",
        "status_for": "microlib.grpc.errors",
    },
)
