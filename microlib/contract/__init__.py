"""microlib.contract: what generated code and every door onto a service target.

A proto service's definition (its methods, their ``google.api.http``
bindings and options), the codec that moves each message across a wire, and
the proto3 JSON mapping of each message. The gRPC server and client, REST
transcoding, and the security checks that read a call's message all build on
these, so none of them imports another transport. It depends on the kernel
and protobuf only (no grpcio, no Starlette), and protobuf only in the codec
and JSON modules: reading a definition needs none of it. ``models`` holds the
bases of the pydantic models generated from OpenAPI, AsyncAPI and jobs
contracts (pydantic only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
    from microlib.contract.codec import MessageCodec
    from microlib.contract.definition import (
        METHOD_ATTRIBUTE,
        HttpRule,
        MethodDefinition,
        MethodKind,
        ServiceDefinition,
    )
    from microlib.contract.message_json import MessageJson, message_json
    from microlib.contract.protojson import JsonOptions

__all__ = [
    "METHOD_ATTRIBUTE",
    "HttpRule",
    "JsonOptions",
    "MessageCodec",
    "MessageJson",
    "MethodDefinition",
    "MethodKind",
    "ServiceDefinition",
    "message_json",
]

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "HttpRule": "microlib.contract.definition",
        "JsonOptions": "microlib.contract.protojson",
        "METHOD_ATTRIBUTE": "microlib.contract.definition",
        "MessageCodec": "microlib.contract.codec",
        "MessageJson": "microlib.contract.message_json",
        "MethodDefinition": "microlib.contract.definition",
        "MethodKind": "microlib.contract.definition",
        "ServiceDefinition": "microlib.contract.definition",
        "message_json": "microlib.contract.message_json",
    },
)
