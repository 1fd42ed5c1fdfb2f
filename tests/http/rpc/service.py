"""The transcoding test contract's Library as a whole Service (chain with validation, served document),
for `microlib run tests.http.rpc.service:service`."""

from __future__ import annotations

from typing import Any

from microlib import Service
from microlib.core.context import CallContext
from microlib.core.errors import Unimplemented
from tests.http.rpc.servicer import Library


class GrpcToo(Library):
    """The Library, with the gRPC-only RPC a servicer included in a Service must have."""

    async def internal(self, request: Any, ctx: CallContext) -> Any:
        """Not bound to HTTP: not served here."""
        raise Unimplemented("not served here")


def library_service() -> Service:
    """A service serving a fresh Library over gRPC and REST."""
    built = Service("library", version="1.0.0")
    built.include(GrpcToo())
    return built


service = library_service()
