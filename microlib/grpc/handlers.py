"""grpc.aio method handlers that run a servicer through the shared chain.

grpc.aio's own ServerInterceptor only sees the handler lookup, never the
messages, so microlib registers handlers that take raw bytes, decode them with
the method's codec, build a :class:`~microlib.core.context.CallContext` and run
the chain composed once per method at registration.

A servicer method is called as ``method(request, ctx)`` (for client
streaming, ``request`` is an async iterator of requests) with the call's
:class:`~microlib.core.context.CallContext`; it returns the response, or for
server streaming is an async generator of responses.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn, Protocol, TypeAlias

import grpc
import structlog

from microlib.contract.definition import MethodDefinition, MethodKind, ServiceDefinition
from microlib.core._unencodable import unencodable
from microlib.core.chain import CallNext, Interceptor, compose
from microlib.core.context import CallContext, Rejected
from microlib.core.errors import ContractMismatch, Error, Internal, InvalidArgument
from microlib.core.handler_shape import call_problem
from microlib.core.lifecycle import RETRY_AFTER_SECONDS, shutting_down
from microlib.core.tls import CLIENT_CERTIFICATE_ATTRIBUTE, CLIENT_SUBJECT_ATTRIBUTE, subject_of
from microlib.grpc._inflight import InFlight
from microlib.grpc.errors import trailers_for

__all__ = ["ChainLike", "check_servicer", "method_handlers", "wrapper_for"]

log = structlog.get_logger("microlib.grpc")

Wrap = Callable[[CallNext], CallNext]
# grpc.aio.ServicerContext; grpcio ships no type information.
_Context: TypeAlias = Any


class ChainLike(Protocol):
    """An object that wraps a handler in the service's interceptors."""

    def wrap(self, handler: CallNext) -> CallNext:
        """The handler with every interceptor around it."""
        ...


def wrapper_for(chain: Sequence[Interceptor] | ChainLike) -> Wrap:
    """A function that composes ``chain`` around one handler.

    Args:
        chain: The interceptors, first outermost, or an object with ``wrap``.

    Returns:
        ``handler -> wrapped handler``.
    """
    if isinstance(chain, Sequence):
        interceptors = tuple(chain)
        return lambda handler: compose(interceptors, handler)
    return chain.wrap


def check_servicer(definition: ServiceDefinition, servicer: object) -> None:
    """Refuse a servicer that lacks a method of its contract, or has one the server cannot call.

    Raises:
        ContractMismatch: naming the servicer class, each missing method and
            the proto RPC it implements; or each method that does not take
            ``(request, ctx)`` or is not ``async def`` (an async generator for
            a server stream).
    """
    _refuse_missing(definition, servicer)
    # A method that cannot be called as the server will would fail every call with INTERNAL.
    wrong = []
    for m in definition.methods.values():
        problem = call_problem(getattr(servicer, m.python_name), _ARGS[m.kind], stream=m.kind in _STREAMS)
        if problem:
            wrong.append(f"{m.python_name} (rpc {m.name}): {problem}")
    if wrong:
        raise ContractMismatch(
            f"servicer {type(servicer).__qualname__} for {definition.full_name}: {'; '.join(wrong)}"
        )


def _refuse_missing(definition: ServiceDefinition, servicer: object) -> None:
    interface = definition.servicer_protocol
    missing = [
        f"{m.python_name} (rpc {m.name})"
        for m in definition.methods.values()
        if not callable(getattr(servicer, m.python_name, None))
        # The interface's own method only raises Unimplemented: inheriting
        # it means the implementation forgot the method.
        or getattr(type(servicer), m.python_name, None) is getattr(interface, m.python_name, None)
    ]
    if missing:
        raise ContractMismatch(
            f"servicer {type(servicer).__qualname__} for {definition.full_name} "
            f"lacks method(s): {', '.join(missing)}"
        )


# What the server passes each kind of method, and which kinds answer with a stream.
_ARGS = {
    MethodKind.UNARY_UNARY: ("request", "ctx"),
    MethodKind.UNARY_STREAM: ("request", "ctx"),
    MethodKind.STREAM_UNARY: ("requests", "ctx"),
    MethodKind.STREAM_STREAM: ("requests", "ctx"),
}
_STREAMS = frozenset({MethodKind.UNARY_STREAM, MethodKind.STREAM_STREAM})


def method_handlers(
    definition: ServiceDefinition,
    servicer: object,
    wrap: Wrap,
    *,
    client_certificates: bool = False,
    calls: InFlight | None = None,
) -> dict[str, grpc.RpcMethodHandler]:
    """grpc.aio handlers for each method of ``definition``, by method name.

    Args:
        definition: The service contract.
        servicer: The user's implementation.
        wrap: Composes the chain around one handler (see :func:`wrapper_for`).
        client_certificates: The server verifies client certificates (mutual
            TLS): each call's ``ctx.attributes`` gets the caller's (see
            :mod:`microlib.core.tls`).
        calls: Where the server counts the calls in progress (its drain
            ends those that outstay it).

    Returns:
        Handlers taking and returning raw bytes, ready for
        ``server.add_registered_method_handlers``.
    """
    # The shapes were checked where the servicer was added (service.include, add_servicer).
    _refuse_missing(definition, servicer)
    calls = calls or InFlight()
    builders = {
        MethodKind.UNARY_UNARY: _unary_unary,
        MethodKind.UNARY_STREAM: _unary_stream,
        MethodKind.STREAM_UNARY: _stream_unary,
        MethodKind.STREAM_STREAM: _stream_stream,
    }
    return {
        name: builders[method.kind](
            _Method(
                definition.full_name,
                method,
                getattr(servicer, method.python_name),
                wrap,
                calls,
                client_certificates,
            )
        )
        for name, method in definition.methods.items()
    }


class _Method:
    """Everything a call of one method needs, computed once."""

    __slots__ = (
        "attributes",
        "calls",
        "chain",
        "client_certificates",
        "decode",
        "definition",
        "encode",
        "full_name",
        "impl",
        "name",
        "service",
    )

    def __init__(
        self,
        service: str,
        definition: MethodDefinition,
        impl: Any,
        wrap: Wrap,
        calls: InFlight,
        client_certificates: bool = False,
    ) -> None:
        self.service = service
        self.calls = calls
        self.name = definition.name
        self.full_name = f"/{service}/{definition.name}"
        self.definition = definition
        self.impl = impl
        self.decode = definition.decode_request
        self.encode = definition.encode_response
        # Imported here: importing the gRPC handlers loads no microlib.security.
        from microlib.security.method_access import call_attributes

        self.attributes = call_attributes(definition)
        self.chain = wrap(self._innermost(definition.kind, impl))
        self.client_certificates = client_certificates

    def encoded(self, response: Any) -> bytes:
        """``response`` as wire bytes; a TypeError naming the field at fault if it does not encode."""
        try:
            return self.encode(response)
        except Exception as exc:
            expected = self.definition.response_type
            raise unencodable(self.full_name[1:], "response", response, expected, exc) from exc

    def _innermost(self, kind: MethodKind, impl: Any) -> CallNext:
        if kind in (MethodKind.UNARY_UNARY, MethodKind.STREAM_UNARY):
            encoded = self.encoded

            async def respond(ctx: CallContext) -> Any:
                response = await impl(ctx.request, ctx)
                # Encoded inside the chain: a response that does not encode fails the call for
                # every interceptor (logged, counted and traced as INTERNAL), where encoding it
                # after the chain had them record OK for a call the client saw fail.
                ctx._encoded = (response, encoded(response))
                return response

            return respond

        async def stream(ctx: CallContext) -> None:
            send = ctx.send
            assert send is not None
            items = impl(ctx.request, ctx)
            if type(send) is not _Sender:
                # An interceptor replaced the handler's send: every message goes through it.
                async for item in items:
                    await send(item)
                return
            # The handler's own: the first message sends the headers before it;
            # the others go to grpc.aio's write directly, without a call of
            # ours per message.
            async for item in items:
                await send(item)
                break
            write, encode = send.write, send.encode
            async for item in items:
                await write(encode(item))

        return stream

    def context(
        self, grpc_context: _Context, raw: Any, read: Callable[[Any], Any], send: Any = None
    ) -> CallContext:
        """The call's context, its request read from ``raw`` by ``read``."""
        try:
            request = read(raw)
        except Exception as exc:
            # A request that does not decode is carried through the chain, so
            # access is decided before its shape is discussed.
            request = Rejected(self._malformed(exc))
        # The clock first: the deadline is then never later than grpc core's, which cancels
        # the call when it passes (the deadline stage reports that as DEADLINE_EXCEEDED).
        now = time.monotonic()
        remaining = grpc_context.time_remaining()
        # Every field by position (in CallContext's order): matching a
        # keyword, and the default factories, cost more than the fields.
        ctx = CallContext(
            "grpc",
            self.service,
            self.name,
            _metadata(grpc_context.invocation_metadata()),
            None if remaining is None else now + remaining,
            grpc_context.peer(),
            request,
            send,
            None,  # principal
            {},  # response_metadata
            {},  # response_trailers
            self.attributes.copy(),
        )
        if self.client_certificates:
            # grpc core verified it in the handshake; with mutual TLS it is always there.
            pem = grpc_context.auth_context()["x509_pem_cert"][0].decode("ascii")
            ctx.attributes[CLIENT_CERTIFICATE_ATTRIBUTE] = pem
            ctx.attributes[CLIENT_SUBJECT_ATTRIBUTE] = subject_of(pem)
        return ctx

    async def parse_stream(self, requests: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        # Streamed requests are read by the handler, after the chain decided.
        async for raw in requests:
            try:
                request = self.decode(raw)
            except Exception as exc:
                raise self._malformed(exc) from None
            yield request

    def _malformed(self, exc: Exception) -> Error:
        if isinstance(exc, Error):
            return exc  # a codec that reports malformed input itself knows best
        return InvalidArgument(
            f"request is not a valid {self.definition.request_type.__name__} message: {type(exc).__name__}",
            reason="MALFORMED_REQUEST",
            domain="microlib",
        )

    async def fail(
        self,
        grpc_context: _Context,
        exc: Exception,
        ctx: CallContext | None,
        retry_after: int | None = None,
    ) -> NoReturn:
        if not isinstance(exc, Error):
            log.exception("unhandled error in gRPC handler", method=self.full_name, exc_info=exc)
            exc = Internal("internal error")
        code, message, details = trailers_for(exc, retry_after=retry_after)
        trailers: tuple[tuple[str, str | bytes], ...] = details
        if ctx is not None and (ctx.response_metadata or ctx.response_trailers):
            trailers = (*ctx.response_metadata.items(), *ctx.response_trailers.items(), *details)
        await grpc_context.abort(code, message, trailers)
        raise AssertionError("grpc.aio abort returned")  # pragma: no cover

    async def cancelled(
        self, grpc_context: _Context, cancelled: asyncio.CancelledError, ctx: CallContext | None
    ) -> NoReturn:
        if not self.calls.expired:
            raise cancelled
        # The drain's budget ended: one line, no traceback, and an answer safe to retry.
        log.error("call cancelled by shutdown", method=self.full_name)
        await self.fail(grpc_context, shutting_down(), ctx, RETRY_AFTER_SECONDS)


def _metadata(items: Sequence[tuple[str, str | bytes]] | None) -> Mapping[str, str]:
    if not items:
        return {}
    fast: dict[str, Any] = dict(items)
    # Text values under distinct keys (the usual metadata) are taken as they are.
    if len(fast) == len(items) and bytes not in map(type, fast.values()):
        return fast
    metadata: dict[str, str] = {}
    for key, value in items:
        text = value if isinstance(value, str) else base64.b64encode(value).decode()
        # Repeated keys are joined as HTTP joins repeated headers.
        metadata[key] = f"{metadata[key]},{text}" if key in metadata else text
    return metadata


def _set_trailers(grpc_context: _Context, ctx: CallContext) -> None:
    if ctx.response_trailers:
        grpc_context.set_trailing_metadata(tuple(ctx.response_trailers.items()))


class _Sender:
    """``ctx.send`` of a streamed response: each message encoded and written.

    The response metadata goes out as headers with the first message, or
    just before the status when the stream sends none (:meth:`flush`).
    """

    __slots__ = ("ctx", "encode", "grpc_context", "write")

    def __init__(self, m: _Method, grpc_context: _Context) -> None:
        self.encode = m.encode
        self.grpc_context = grpc_context
        self.write = grpc_context.write
        self.ctx: CallContext | None = None  # the call's, until its headers are sent

    def __call__(self, item: Any) -> Awaitable[None]:
        # grpc.aio's own write handed back once the headers are out: a
        # coroutine of ours around it would cost one more per message.
        return self.write(self.encode(item)) if self.ctx is None else self._first(item)

    async def _first(self, item: Any) -> None:
        await self.flush()
        await self.write(self.encode(item))

    async def flush(self) -> None:
        """Send the headers, unless they are out already."""
        ctx, self.ctx = self.ctx, None
        if ctx is not None and ctx.response_metadata:
            await self.grpc_context.send_initial_metadata(tuple(ctx.response_metadata.items()))


def _unary_unary(m: _Method) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(_single_response(m, m.decode))


def _unary_stream(m: _Method) -> grpc.RpcMethodHandler:
    return grpc.unary_stream_rpc_method_handler(_streamed_response(m, m.decode))


def _stream_unary(m: _Method) -> grpc.RpcMethodHandler:
    return grpc.stream_unary_rpc_method_handler(_single_response(m, m.parse_stream))


def _stream_stream(m: _Method) -> grpc.RpcMethodHandler:
    return grpc.stream_stream_rpc_method_handler(_streamed_response(m, m.parse_stream))


def _single_response(m: _Method, read: Callable[[Any], Any]) -> Callable[[Any, _Context], Awaitable[bytes]]:
    """The grpc.aio behaviour of a method answering with one message; ``read`` reads the request(s)."""
    chain = m.chain
    encoded = m.encoded
    calls = m.calls

    async def rpc(request: Any, grpc_context: _Context) -> bytes:
        ctx = None
        task = calls.begin()
        try:
            ctx = m.context(grpc_context, request, read)
            response = await chain(ctx)
            # Before the single response: its headers, if any (an operation
            # of their own), and the trailers that go out with it. Written
            # out here, not calls of ours: most calls send no headers.
            if ctx.response_metadata:
                await grpc_context.send_initial_metadata(tuple(ctx.response_metadata.items()))
            if ctx.response_trailers:
                grpc_context.set_trailing_metadata(tuple(ctx.response_trailers.items()))
            done = ctx._encoded
            if done is not None and done[0] is response:
                return done[1]
            # An interceptor answered in the handler's place, or replaced its response.
            return encoded(response)
        except Exception as exc:
            await m.fail(grpc_context, exc, ctx)
        except asyncio.CancelledError as cancelled:
            await m.cancelled(grpc_context, cancelled, ctx)
        finally:
            calls.end(task)

    return rpc


def _streamed_response(m: _Method, read: Callable[[Any], Any]) -> Callable[[Any, _Context], Awaitable[None]]:
    """The grpc.aio behaviour of a method answering with a stream; ``read`` reads the request(s)."""
    chain = m.chain
    calls = m.calls

    async def rpc(request: Any, grpc_context: _Context) -> None:
        ctx = None
        sender = _Sender(m, grpc_context)
        task = calls.begin()
        try:
            ctx = sender.ctx = m.context(grpc_context, request, read, sender)
            await chain(ctx)
            await sender.flush()
            _set_trailers(grpc_context, ctx)
        except Exception as exc:
            await m.fail(grpc_context, exc, ctx)
        except asyncio.CancelledError as cancelled:
            await m.cancelled(grpc_context, cancelled, ctx)
        finally:
            calls.end(task)
            # A failed stream never sent its headers: the context and its send hold each other.
            sender.ctx = None

    return rpc
