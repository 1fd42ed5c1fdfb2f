"""The service's :class:`~microlib.messaging.Publisher`: encode, trace, send, count.

Every publish gets a producer span whose W3C context (``traceparent``,
``tracestate``, ``baggage``) travels in the message's headers, so the
consumer's span is its child; the current call's request id travels as
``x-request-id``. Publishing returns once the broker confirmed the
message (RabbitMQ publisher confirms, Kafka acks, Redis's reply). A
request (an operation with a ``reply``) then waits for the reply in this
instance's inbox (:mod:`microlib.messaging.replies`).

Metrics (labels ``channel``, ``operation``, ``code``):
``messaging_publisher_messages_total`` and
``messaging_publisher_message_duration_seconds``.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import trace

from microlib.core._watchdog import Watchdog
from microlib.core.context import current_context
from microlib.core.errors import DeadlineExceeded, InvalidArgument, Unavailable
from microlib.core.propagation import Propagation
from microlib.messaging.broker import Broker, OutgoingMessage
from microlib.messaging.codec import (
    MESSAGE_HEADER,
    check_headers,
    header_name,
    message_for_payload,
    message_key,
    read_payload,
)
from microlib.messaging.definition import ApplicationDefinition, OperationDefinition
from microlib.messaging.parameters import check_parameters, located_parameters
from microlib.messaging.replies import Replies
from microlib.observability._lean_span import FrameworkAttributes
from microlib.observability.outcome import outcome_code
from microlib.observability.requestid import REQUEST_ID_HEADER

if TYPE_CHECKING:
    from microlib.observability.metrics import Metrics
    from microlib.observability.tracing import Tracing

__all__ = ["BrokerPublisher", "OutboxWriter"]

Committed = Callable[[], None]
"""Called once the transaction holding an outbox row committed."""


class OutboxWriter(Protocol):
    """Where the publisher diverts messages when the outbox is on (microlib.messaging.outbox)."""

    async def write(
        self, operation: OperationDefinition, message: OutgoingMessage, committed: Committed
    ) -> bool:
        """Store ``message`` in the caller's open transaction.

        Args:
            operation: The send operation.
            message: The encoded message, trace context in its headers.
            committed: To call once the transaction committed.

        Returns:
            False when the message is to go straight to the broker instead
            (no transaction open, and the outbox allows direct publishing).
        """
        ...


class BrokerPublisher:
    """Publishes typed payloads through the service's broker.

    It exists before the service starts (generated publishers can wrap it
    at import time) and sends once the messaging component attached it to
    the broker.

    Args:
        propagation: Adds the sending call's headers (the signed principal)
            to every message.
    """

    def __init__(self, propagation: Propagation | None = None) -> None:
        self._propagation = propagation or Propagation()
        self._broker: Broker | None = None
        self._tracing: Tracing | None = None
        self._timeout = 0.0
        self._request_timeout = 30.0
        self._inbox_prefix = "replies"
        self._replies: dict[str, Replies] = {}
        self._opening = asyncio.Lock()
        self._count: Any = None
        self._duration: Any = None
        self._series: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._plans: dict[int, _Plan] = {}
        self._watchdog: Watchdog | None = None
        self.documents: dict[str, ApplicationDefinition] = {}
        """The documents generated publishers send for, by title (served over HTTP)."""
        self.observers: list[Callable[[OperationDefinition, Any, OutgoingMessage], None]] = []
        """Told of each message the broker confirmed (or the outbox committed):
        operation, payload, message."""
        self.outbox: OutboxWriter | None = None
        """When set, each message goes to the transactional outbox first."""

    def attach(
        self,
        broker: Broker,
        *,
        tracing: Tracing,
        metrics: Metrics,
        timeout: float,
        request_timeout: float = 30.0,
        inbox_prefix: str = "replies",
    ) -> None:
        """Send through ``broker`` from now on.

        Args:
            broker: The started broker.
            tracing: The service's tracing (producer spans, header injection).
            metrics: The service's metrics.
            timeout: Seconds a publish waits for the broker's confirmation.
            request_timeout: Seconds a request waits for its reply by default.
            inbox_prefix: Starts the names of this instance's reply inboxes
                (``<group>.replies``).
        """
        self._tracing = tracing
        self._timeout = timeout
        self._request_timeout = request_timeout
        self._inbox_prefix = inbox_prefix
        labels = ("channel", "operation", "code")
        self._series = {}
        self._plans = {}
        self._watchdog = Watchdog(timeout)
        self._count = metrics.counter(
            "messaging_publisher_messages_total", "Messages published, by outcome.", labels
        )
        self._duration = metrics.histogram(
            "messaging_publisher_message_duration_seconds",
            "Time from publish to the broker's confirmation.",
            labels,
        )
        self._broker = broker

    def detach(self) -> None:
        """Refuse to publish from now on (the broker is closing)."""
        self._broker = None

    async def publish(
        self,
        operation: OperationDefinition,
        payload: Any,
        *,
        parameters: Mapping[str, str | None] | None = None,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Send ``payload`` on ``operation``'s channel; returns once the broker confirmed it.

        Raises:
            TypeError: ``payload`` is none of the operation's payload types.
            InvalidArgument: a parameter of the address has no value (none
                given, as None or not at all, and none where the contract
                locates it in the message), or one the contract refuses.
            Unavailable: the broker is not connected or did not confirm in
                time (``messaging.publish_timeout``).
        """
        await self.send(
            operation,
            payload,
            address=_address(operation, parameters or {}, headers or {}, payload),
            key=key,
            headers=headers,
            message_id=message_id,
            correlation_id=correlation_id,
        )

    async def request(
        self,
        operation: OperationDefinition,
        payload: Any,
        *,
        parameters: Mapping[str, str | None] | None = None,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send a request on an operation with a ``reply`` and return the reply's payload.

        The request carries a new correlation id and, as ``reply_to`` (and
        in the header the contract's reply address locates, if any), the
        address of this instance's inbox for the reply.

        Args:
            timeout: Seconds to wait for the reply; ``messaging.request_timeout``
                when None, and never past the current call's deadline.

        Raises:
            TypeError: the operation has no reply, or ``payload`` is none of
                its payload types.
            DeadlineExceeded: no reply within the timeout.
            InvalidArgument: the reply is not a valid payload of the reply, or
                its headers break the reply message's ``headers`` schema.
            Unavailable: see :meth:`publish`; or messaging stopped meanwhile.
        """
        reply = operation.reply
        if reply is None:
            raise TypeError(f"operation {operation.name} has no reply: publish() it instead")
        replies = await self._replies_of(reply)
        correlation_id = uuid.uuid4().hex
        out = dict(headers or {})
        if (name := header_name(reply.address)) is not None:
            out[name] = replies.address
        limit = self._request_timeout if timeout is None else timeout
        call = current_context()
        if call is not None and call.deadline is not None:
            limit = min(limit, max(0.0, call.deadline - time.monotonic()))
        with replies.expect(correlation_id) as answer:
            await self.send(
                operation,
                payload,
                address=_address(operation, parameters or {}, headers or {}, payload),
                key=key,
                headers=out,
                correlation_id=correlation_id,
                reply_to=replies.address,
            )
            try:
                async with asyncio.timeout(limit):
                    delivery = await answer
            except TimeoutError:
                raise DeadlineExceeded(
                    f"no reply to {operation.name} within {limit:g}s (messaging.request_timeout)",
                    reason="REPLY_TIMEOUT",
                ) from None
        headers = {k.lower(): v for k, v in delivery.headers.items()}
        message, payload = read_payload(reply, headers, delivery.body)
        check_headers(message, headers)
        return payload

    async def _replies_of(self, reply: OperationDefinition) -> Replies:
        broker = self._broker
        if broker is None:
            raise Unavailable("messaging is not started: send requests once the service has started")
        async with self._opening:
            replies = self._replies.get(reply.name)
            if replies is None or not replies.open:
                name = f"{self._inbox_prefix}.{uuid.uuid4().hex[:12]}"
                replies = self._replies[reply.name] = Replies(reply, await broker.inbox(reply, name))
            return replies

    async def close(self) -> None:
        """Stop reading replies (waiting requests fail) and refuse to publish."""
        self.detach()
        replies, self._replies = self._replies, {}
        for one in replies.values():
            await one.close()

    async def send(
        self,
        operation: OperationDefinition,
        payload: Any,
        *,
        address: str,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
        reply_to: str | None = None,
        reply: bool = False,
    ) -> None:
        """Send ``payload`` to a concrete ``address`` (a reply's, or a resolved one).

        The correlation id also travels in the header the message's
        ``correlationId`` locates, if the contract says so. A request (with
        ``reply_to``) and a ``reply`` go straight to the broker even with the
        outbox on: a request waits for its reply, which a row not committed
        yet never gets, and a reply answers a caller waiting now.

        Raises:
            TypeError: ``payload`` is none of the operation's payload types.
            Unavailable: see :meth:`publish`.
        """
        broker, tracing = self._broker, self._tracing
        if broker is None or tracing is None:
            raise Unavailable("messaging is not started: publish once the service has started")
        outbox = None if reply or reply_to is not None else self.outbox
        plan = self._plans.get(id(operation))
        if plan is None or plan.operation is not operation:
            plan = self._plans[id(operation)] = _Plan(operation, self._count, self._duration)
        message = (
            plan.message if type(payload) is plan.payload_type else message_for_payload(operation, payload)
        )
        body = message.encode(payload)
        out: dict[str, str] = (
            {**headers, MESSAGE_HEADER: message.name} if headers else {MESSAGE_HEADER: message.name}
        )
        if correlation_id is not None and (name := header_name(message.correlation_id)) is not None:
            out[name] = correlation_id
        self._propagation.inject(out, body)
        call = current_context()
        if call is not None and "request_id" in call.attributes:
            out.setdefault(REQUEST_ID_HEADER, str(call.attributes["request_id"]))
        if key is None and plan.keyed:
            key = message_key(operation, payload, out)
        message_id = message_id or new_message_id()
        span = tracing.tracer.start_span(
            plan.span_name,
            kind=trace.SpanKind.PRODUCER,
            attributes=FrameworkAttributes(
                {
                    "messaging.operation.type": "send",
                    "messaging.destination.name": address,
                    "messaging.message.id": message_id,
                    "microlib.method": operation.name,
                }
            ),
        )
        tracing.inject_span(out, span)
        outgoing = OutgoingMessage(
            address, body, out, key, message_id, correlation_id, message.content_type, reply_to
        )
        start = time.perf_counter()
        failure: BaseException | None = None
        try:
            if outbox is not None and await outbox.write(
                operation, outgoing, lambda: self._tell(operation, payload, outgoing)
            ):
                return
            await self._confirmed(broker, operation, outgoing)
            if self.observers:
                self._tell(operation, payload, outgoing)
        except BaseException as exc:
            failure = exc
            span.record_exception(exc)
            if isinstance(exc, Unavailable) and exc.reason == "PUBLISH_TIMEOUT":
                span.set_status(trace.StatusCode.ERROR, exc.message)
            else:
                span.set_status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            span.end()
            if failure is None:
                plan.ok_count.inc()
                plan.ok_duration.observe(time.perf_counter() - start)
            else:
                count, duration = self._children(operation, outcome_code(failure))
                count.inc()
                duration.observe(time.perf_counter() - start)

    async def _confirmed(
        self, broker: Broker, operation: OperationDefinition, outgoing: OutgoingMessage
    ) -> None:
        """Publish ``outgoing``; returns once the broker confirmed it within ``messaging.publish_timeout``.

        Raises:
            Unavailable: the broker did not confirm in time (or refused).
        """
        task = asyncio.current_task()
        watchdog = self._watchdog
        if task is None or watchdog is None:
            try:
                async with asyncio.timeout(self._timeout):
                    await broker.publish(operation, outgoing)
            except TimeoutError:
                raise self._timed_out(outgoing.address) from None
            return
        # One timer for every publish's budget (they all have the same), as
        # asyncio.timeout would keep it, with its rules: a cancellation the
        # budget did not cause alone stays a cancellation.
        cancelling = task.cancelling()
        watchdog.watch(task)
        try:
            await broker.publish(operation, outgoing)
        except asyncio.CancelledError:
            if watchdog.expired_alone(task, cancelling):
                raise self._timed_out(outgoing.address) from None  # uncancelled by the release below
            raise
        finally:
            watchdog.release(task)

    def _timed_out(self, address: str) -> Unavailable:
        return Unavailable(
            f"the broker did not confirm a message to {address!r} within "
            f"{self._timeout}s (messaging.publish_timeout)",
            reason="PUBLISH_TIMEOUT",
        )

    def _children(self, operation: OperationDefinition, code: str) -> tuple[Any, Any]:
        """The count and duration series of ``operation`` and ``code``."""
        # Operations and codes are few: their series are looked up once
        # (prometheus-client's labels() locks and validates on every call).
        key = (operation.channel, operation.name, code)
        children = self._series.get(key)
        if children is None:
            children = self._series[key] = (self._count.labels(*key), self._duration.labels(*key))
        return children

    def _tell(self, operation: OperationDefinition, payload: Any, message: OutgoingMessage) -> None:
        for observer in self.observers:
            observer(operation, payload, message)


def new_message_id() -> str:
    """A random (version 4) UUID in hex, as ``uuid.uuid4().hex`` writes it.

    From ``random`` (reseeded in forked children), as request ids are: a
    message id names a message, it protects nothing, and building a
    ``uuid.UUID`` per message costs more than the rest of the headers.
    """
    bits = random.getrandbits(128) & ~(0xC000 << 48 | 0xF000 << 64)
    return f"{bits | 0x8000 << 48 | 0x4000 << 64:032x}"


class _Plan:
    """What every publish on one operation shares, worked out on the first."""

    __slots__ = ("keyed", "message", "ok_count", "ok_duration", "operation", "payload_type", "span_name")

    def __init__(self, operation: OperationDefinition, count: Any, duration: Any) -> None:
        self.operation = operation
        # The usual case: one message, whose payload's exact type skips the search.
        self.message = operation.messages[0]
        self.payload_type: type[Any] | None = (
            self.message.payload_type if len(operation.messages) == 1 else None
        )
        self.keyed = operation.key is not None
        self.span_name = f"publish {operation.channel}"
        ok = (operation.channel, operation.name, "OK")
        self.ok_count = count.labels(*ok)
        self.ok_duration = duration.labels(*ok)


def _address(
    operation: OperationDefinition,
    parameters: Mapping[str, str | None],
    headers: Mapping[str, str],
    payload: Any,
) -> str:
    if "{" not in operation.address:
        return operation.address  # no parameters: nothing to resolve
    values = located_parameters(operation, parameters, headers, payload)
    try:
        address = operation.resolve(values)
    except KeyError as exc:
        name = exc.args[0]
        where = operation.parameter_locations.get(name)
        located = f", nor does the message carry one at {where}" if where else ""
        raise InvalidArgument(
            f"operation {operation.name}: address {operation.address!r} needs parameter {name!r}"
            f" (no value given{located})",
            reason="MISSING_PARAMETER",
        ) from None
    if operation.parameter_schemas or operation.parameter_locations:
        check_parameters(operation, values, headers, payload)
    return address
