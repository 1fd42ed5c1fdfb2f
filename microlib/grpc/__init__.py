"""microlib.grpc: serve and call contract-first gRPC services on grpc.aio.

``GrpcServer`` runs generated servicers through the shared interceptor chain;
``Client`` is the base of generated typed clients. See ``docs/grpc.md``.
"""

from __future__ import annotations

from microlib.config.model import GrpcKeepaliveSettings, GrpcSettings, GrpcTlsSettings
from microlib.grpc.client import Client, Metadata
from microlib.grpc.deadline import DeadlineInterceptor
from microlib.grpc.definition import HttpRule, MethodDefinition, MethodKind, ServiceDefinition
from microlib.grpc.errors import error_from_rpc_error, error_from_status, status_for
from microlib.grpc.handlers import METHOD_ATTRIBUTE
from microlib.grpc.health import HealthService
from microlib.grpc.server import GrpcServer
from microlib.grpc.validation import ValidationInterceptor, make_validator

__all__ = [
    "METHOD_ATTRIBUTE",
    "Client",
    "DeadlineInterceptor",
    "GrpcKeepaliveSettings",
    "GrpcServer",
    "GrpcSettings",
    "GrpcTlsSettings",
    "HealthService",
    "HttpRule",
    "Metadata",
    "MethodDefinition",
    "MethodKind",
    "ServiceDefinition",
    "ValidationInterceptor",
    "error_from_rpc_error",
    "error_from_status",
    "make_validator",
    "status_for",
]
