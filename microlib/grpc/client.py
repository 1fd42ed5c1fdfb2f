"""The base of generated typed gRPC clients.

A generated client subclasses :class:`Client`, sets ``__microlib_service__``
and gives each RPC a typed method calling one of the four ``_unary_unary``...
helpers. The helpers encode with the method's fast codec, carry the current
call's remaining deadline and trace context to the callee, and raise the
microlib :class:`~microlib.core.errors.Error` the callee sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Any, ClassVar

import grpc
from opentelemetry import propagate

from microlib.contract.definition import MethodDefinition, ServiceDefinition
from microlib.core._unencodable import unencodable
from microlib.core.context import current_context
from microlib.core.errors import Error
from microlib.grpc.errors import error_from_rpc_error

__all__ = ["Client", "Metadata"]

Metadata = Sequence[tuple[str, str | bytes]]
"""Outgoing call metadata: ``(key, value)`` pairs, ``bytes`` for ``-bin`` keys."""


class Client:
    """Calls one service over a grpc.aio channel.

    Args:
        channel: The channel (``grpc.aio.insecure_channel(...)`` or secure).
        metadata: Sent with every call, before per-call metadata.

    Raises:
        TypeError: when the class does not declare ``__microlib_service__``.
    """

    __microlib_service__: ClassVar[ServiceDefinition]

    def __init__(self, channel: grpc.aio.Channel, *, metadata: Metadata = ()) -> None:
        definition = getattr(type(self), "__microlib_service__", None)
        if not isinstance(definition, ServiceDefinition):
            raise TypeError(f"{type(self).__qualname__} must set __microlib_service__ to a ServiceDefinition")
        self._channel = channel
        self._service = definition.full_name
        self._metadata = tuple(metadata)
        self._callables: dict[str, Any] = {}

    def _callable(self, method: MethodDefinition) -> Any:
        found = self._callables.get(method.name)
        if found is None:
            factory = getattr(self._channel, method.kind.value)
            found = factory(
                f"/{self._service}/{method.name}",
                # Requests are encoded by the helpers, before grpcio sees them: grpcio logs a
                # failing serializer's exception and sends an empty message in its place.
                request_serializer=None,
                response_deserializer=method.decode_response,
            )
            self._callables[method.name] = found
        return found

    def _unencodable(self, method: MethodDefinition, request: Any, exc: Exception) -> TypeError:
        return unencodable(f"{self._service}/{method.name}", "request", request, method.request_type, exc)

    def _options(self, timeout: float | None, metadata: Metadata | None) -> dict[str, Any]:
        ctx = current_context()
        if ctx is not None and ctx.deadline is not None:
            remaining = ctx.time_remaining()
            timeout = remaining if timeout is None else min(timeout, remaining or 0.0)
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return {
            "timeout": timeout,
            "metadata": (*self._metadata, *(metadata or ()), *carrier.items()),
        }

    async def _unary_unary(
        self,
        method: MethodDefinition,
        request: Any,
        *,
        timeout: float | None = None,
        metadata: Metadata | None = None,
    ) -> Any:
        """Call a unary RPC.

        Args:
            method: The RPC.
            request: The request message.
            timeout: Seconds; never longer than the current call's deadline.
            metadata: Extra metadata for this call.

        Returns:
            The response message.

        Raises:
            Error: the subclass matching the status the server sent.
        """
        try:
            payload = method.encode_request(request)
        except Exception as exc:
            raise self._unencodable(method, request, exc) from exc
        try:
            return await self._callable(method)(payload, **self._options(timeout, metadata))
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc_error(exc) from exc

    async def _unary_stream(
        self,
        method: MethodDefinition,
        request: Any,
        *,
        timeout: float | None = None,
        metadata: Metadata | None = None,
    ) -> AsyncIterator[Any]:
        """Call a server-streaming RPC; iterate the responses.

        Closing the iterator early cancels the call.

        Raises:
            Error: while iterating, when the server ends the stream with one.
        """
        try:
            payload = method.encode_request(request)
        except Exception as exc:
            raise self._unencodable(method, request, exc) from exc
        call = self._callable(method)(payload, **self._options(timeout, metadata))
        async for item in _responses(call):
            yield item

    async def _stream_unary(
        self,
        method: MethodDefinition,
        requests: AsyncIterable[Any],
        *,
        timeout: float | None = None,
        metadata: Metadata | None = None,
    ) -> Any:
        """Call a client-streaming RPC with ``requests``; return the response.

        Raises:
            Error: the subclass matching the status the server sent.
        """
        encoded = _Encoded(self, method, requests)
        try:
            return await self._callable(method)(encoded.items(), **self._options(timeout, metadata))
        except (grpc.aio.AioRpcError, asyncio.CancelledError) as exc:
            encoded.raise_failure()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise error_from_rpc_error(exc) from exc

    async def _stream_stream(
        self,
        method: MethodDefinition,
        requests: AsyncIterable[Any],
        *,
        timeout: float | None = None,
        metadata: Metadata | None = None,
    ) -> AsyncIterator[Any]:
        """Call a bidirectional-streaming RPC; iterate the responses.

        Closing the iterator early cancels the call.

        Raises:
            Error: while iterating, when the server ends the stream with one.
        """
        encoded = _Encoded(self, method, requests)
        call = self._callable(method)(encoded.items(), **self._options(timeout, metadata))
        try:
            async for item in _responses(call):
                yield item
        except (Error, asyncio.CancelledError):
            encoded.raise_failure()
            raise


class _Encoded:
    """The requests of a client-streaming call, encoded before grpcio takes them.

    grpcio reads a request iterator in a task of its own and answers its
    exception by cancelling the call: the exception is kept here, and the
    helper raises it in place of the cancellation.
    """

    def __init__(self, client: Client, method: MethodDefinition, requests: AsyncIterable[Any]) -> None:
        self._client = client
        self._method = method
        self._requests = requests
        self._failure: Exception | None = None

    async def items(self) -> AsyncIterator[bytes]:
        async for request in self._requests:
            try:
                encoded = self._method.encode_request(request)
            except Exception as exc:
                self._failure = self._client._unencodable(self._method, request, exc)
                raise self._failure from exc
            yield encoded

    def raise_failure(self) -> None:
        """Raise the exception a request's encoding raised, if any did."""
        if self._failure is not None:
            raise self._failure


async def _responses(call: Any) -> AsyncIterator[Any]:
    try:
        async for item in call:
            yield item
    except grpc.aio.AioRpcError as exc:
        raise error_from_rpc_error(exc) from exc
    finally:
        call.cancel()
