"""The per-call context every handler, interceptor, consumer and job sees."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from microlib.core.errors import Error

__all__ = ["CallContext", "CallKind", "Principal", "Rejected", "current_context"]

CallKind = Literal["http", "grpc", "message", "job"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, once authentication has run.

    Args:
        subject: The stable identifier of the caller (``sub``).
        scopes: Granted OAuth scopes.
        roles: Granted roles.
        claims: Every verified claim, for what the fields above do not cover.
    """

    subject: str
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=dict)


class Rejected:
    """A request the transport could not decode, in ``ctx.request`` in place of the request.

    A door that fails to build the request (malformed bytes or JSON, a bad
    parameter or deadline header) still runs the chain with this marker, so
    authentication and authorization decide first: an anonymous caller gets
    401 / ``UNAUTHENTICATED``, never a 400 describing the request's shape.
    The chain raises :attr:`error` right before the handler (see
    :func:`~microlib.core.chain.compose`); interceptors outside it may see
    the marker.

    Args:
        error: Why the request was rejected.
    """

    __slots__ = ("error",)

    def __init__(self, error: Error) -> None:
        self.error = error


@dataclass(slots=True, eq=False)
class CallContext:
    """One call through the shared interceptor chain, whatever its transport.

    Args:
        kind: The transport or trigger: ``http``, ``grpc``, ``message``, ``job``.
        service: The contract-level service (``shop.v1.Orders``, an OpenAPI
            title, a channel) used to name metrics and spans.
        method: The method within it (``GetOrder``, an operationId, a route
            template); bounded cardinality, never a raw path.
        metadata: Incoming headers or gRPC metadata, lower-cased keys.
        deadline: Absolute ``time.monotonic()`` by which the call must end.
        peer: The remote address, when there is one.
        request: The decoded request (a message, a model, or an async
            iterator of them for client streaming); a :class:`Rejected`
            when the transport could not decode it.
        send: For streaming responses, pushes one item to the caller.
        principal: Who is calling, once authentication has run.
        response_metadata: Sent before the response: HTTP headers, gRPC
            initial metadata (with the first message).
        response_trailers: Sent after the response: gRPC trailing metadata,
            with the status (on errors too); HTTP headers, since HTTP/1.1
            responses carry no trailers. A unary gRPC response sends its
            trailers in the same operation as the message, while initial
            metadata costs an operation of its own.
        attributes: Anything the chain records about the call.
    """

    kind: CallKind
    service: str
    method: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    deadline: float | None = None
    peer: str = ""
    request: Any = None
    send: Callable[[Any], Awaitable[None]] | None = None
    principal: Principal | None = None
    response_metadata: dict[str, str] = field(default_factory=dict)
    response_trailers: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    # ``service/method`` once the chain's logging stage has run for the call:
    # its log lines then carry ``kind`` and ``method``, read from here rather
    # than bound in two context variables each call.
    _logged_as: str = field(default="", init=False, repr=False)
    # A unary gRPC call's response with its wire bytes, encoded by the innermost step so that
    # a response that does not encode fails inside the chain (microlib.grpc.handlers).
    _encoded: tuple[Any, bytes] | None = field(default=None, init=False, repr=False)

    @property
    def full_method(self) -> str:
        """``service/method``, the name used for logs, metrics and spans."""
        return f"{self.service}/{self.method}"

    def time_remaining(self) -> float | None:
        """Seconds left before the deadline, or None without a deadline."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())


_current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "microlib_call_context", default=None
)


def current_context() -> CallContext | None:
    """The context of the call running in this task, if any."""
    return _current.get()
