"""Stand-in for ``microlib.grpc.client`` until the gRPC runtime branch is merged.

conftest.py puts this folder on ``microlib.grpc.__path__`` only when the real
module is missing; it has the real module's shape, not its behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

from microlib.grpc.definition import MethodDefinition, ServiceDefinition

__all__ = ["Client", "Metadata"]

Metadata = Sequence[tuple[str, str | bytes]]


class Client:
    """A loopback client: each request is encoded, then decoded as the response."""

    __microlib_service__: ClassVar[ServiceDefinition]

    def __init__(self, channel: Any, *, metadata: Metadata = ()) -> None:
        """Keep the channel."""
        self.channel = channel

    async def _unary_unary(self, method: MethodDefinition, request: Any, **options: Any) -> Any:
        return method.decode_response(method.encode_request(request))

    async def _unary_stream(
        self, method: MethodDefinition, request: Any, **options: Any
    ) -> AsyncIterator[Any]:
        yield method.decode_response(method.encode_request(request))

    async def _stream_unary(
        self, method: MethodDefinition, requests: AsyncIterator[Any], **options: Any
    ) -> Any:
        return [method.decode_response(method.encode_request(r)) async for r in requests][-1]

    async def _stream_stream(
        self, method: MethodDefinition, requests: AsyncIterator[Any], **options: Any
    ) -> AsyncIterator[Any]:
        async for request in requests:
            yield method.decode_response(method.encode_request(request))
