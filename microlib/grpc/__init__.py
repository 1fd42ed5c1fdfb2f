"""microlib.grpc: the gRPC server runtime for generated servicers."""

from __future__ import annotations

from microlib.grpc.definition import HttpRule, MethodDefinition, MethodKind, ServiceDefinition

__all__ = ["HttpRule", "MethodDefinition", "MethodKind", "ServiceDefinition"]
