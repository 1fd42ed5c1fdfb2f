"""One receive operation's consumer: deliveries through the chain, then settled.

Each delivery runs through the service's one chain as a ``CallContext`` of
kind ``message`` (service: the document's title; method: the operation's
name), so recovery, tracing (a consumer span, child of the producer's),
metrics, logging and authentication apply as for any call. Innermost, the
payload is decoded and validated (``InvalidArgument`` names each bad field)
and the handler called with it and a :class:`MessageContext`.

Settlement: the message is acknowledged only after the handler returned
(and its reply, if any, was confirmed). A failed attempt is tried again
after a backoff, in this process and holding the message; a poison failure
or the last attempt's moves it to the dead letters with the error and the
attempt count in its headers. Deliveries the broker repeats count as
attempts, so a message that crashes the process does not loop for ever
where the broker counts deliveries.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from microlib.core.context import CallContext
from microlib.core.errors import Error, Internal, InvalidArgument
from microlib.messaging.acks import Reject
from microlib.messaging.broker import REPLAY_HEADER, Broker, Delivery, Dispatching, Subscription
from microlib.messaging.codec import MESSAGE_HEADER, check_headers, header_at, located, read_payload
from microlib.messaging.context import MessageContext
from microlib.messaging.definition import (
    Action,
    ApplicationDefinition,
    MessageDefinition,
    OperationDefinition,
    RetryPolicy,
)
from microlib.messaging.parameters import check_parameters
from microlib.messaging.retry import is_poison
from microlib.observability.outcome import outcome_code

if TYPE_CHECKING:
    from microlib.core.chain import Chain
    from microlib.messaging.publishing import BrokerPublisher
    from microlib.observability.metrics import Metrics

__all__ = ["ConsumerOptions", "OperationConsumer"]

log = structlog.get_logger("microlib.messaging")

Handler = Callable[[Any, MessageContext], Awaitable[Any]]
Settled = Callable[[OperationDefinition, Delivery, str], None]
"""Told of each settled delivery: the operation, the delivery, ``ack`` or ``dead_letter``."""

DELIVERY_ATTRIBUTE = "microlib.messaging.delivery"
_Decoded = tuple[MessageDefinition, Any]
"""A message and its payload, read from a delivery's body."""
OPERATION_ATTRIBUTE = "microlib.method"
_MAX_HEADER = 1024


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    """How one operation is consumed, settings and contract merged.

    Args:
        group: The consumer group.
        address: The address consumed, ``{parameters}`` left as wildcards.
        prefetch: Messages handled at once.
        policy: The retry policy.
        handler_timeout: Seconds an attempt may take, or None.
        reconnect_backoff: Seconds before subscribing again after the
            subscription failed.
        reconnect_backoff_max: Cap of that backoff.
    """

    group: str
    address: str
    prefetch: int
    policy: RetryPolicy
    handler_timeout: float | None = None
    reconnect_backoff: float = 0.5
    reconnect_backoff_max: float = 10.0


class OperationConsumer:
    """Consumes one receive operation for one implementation.

    Args:
        application: The document the operation belongs to.
        operation: The receive operation.
        handler: The implementation's method for it.
        options: Group, address, prefetch, retries.
        chain: The service's interceptor chain.
        broker: Where the messages come from.
        publisher: Sends the handler's reply, for operations with one.
        metrics: Where retries and dead letters are counted.
        on_settled: Told of each delivery acknowledged or dead-lettered
            (``microlib.testing`` waits on it).
    """

    def __init__(
        self,
        application: ApplicationDefinition,
        operation: OperationDefinition,
        handler: Handler,
        options: ConsumerOptions,
        *,
        chain: Chain,
        broker: Broker,
        publisher: BrokerPublisher,
        metrics: Metrics,
        on_settled: Settled | None = None,
    ) -> None:
        self.application = application
        self.operation = operation
        self.options = options
        self._handler = handler
        self._service = application.title
        self._queue = broker.queue(operation, group=options.group, address=options.address)
        self._broker = broker
        self._publisher = publisher
        self._on_settled = on_settled
        self._call = chain.wrap(self._innermost)
        self._parameterized = bool(operation.parameters)
        self._checks_parameters = bool(operation.parameter_schemas or operation.parameter_locations)
        self._carries = frozenset(message.name for message in operation.messages)
        self._sent_only = _sent_only(application, operation)
        self._siblings: list[tuple[OperationConsumer, bool]] = []
        self._subscription: Subscription | None = None
        self._fetching: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        labels = (self._service, operation.name)
        self._retries = metrics.counter(
            "messaging_consumer_retries_total",
            "Failed attempts that will be tried again.",
            ("service", "method"),
        ).labels(*labels)
        dead = metrics.counter(
            "messaging_consumer_dead_lettered_total",
            "Messages moved to the dead letters, by reason (poison, exhausted).",
            ("service", "method", "reason"),
        )
        self._dead = {reason: dead.labels(*labels, reason) for reason in ("poison", "exhausted")}

    async def start(self) -> None:
        """Subscribe (declaring what the operation needs) and start fetching."""
        subscription = self._subscription = await self._subscribe()
        if isinstance(subscription, Dispatching):
            subscription.dispatch(self._received)
            return
        self._fetching = asyncio.get_running_loop().create_task(
            self._fetch(subscription), name=f"microlib-consume-{self.operation.name}"
        )

    def share_address(self, siblings: list[tuple[OperationConsumer, bool]]) -> None:
        """Tell the consumer of the other receive operations on its address.

        Each gets the messages the others carry too: one of them is acknowledged
        here (its own queue holds the other's copy) or, when the two read one
        queue (``together``), handled here as the other operation.

        Args:
            siblings: Each consumer with ``together``: whether it reads this
                consumer's queue.
        """
        self._siblings = siblings

    @property
    def queue(self) -> str:
        """The consumer's queue (:meth:`Broker.queue`), which names its dead letters."""
        return self._queue

    async def lag(self) -> int | None:
        """The group's messages not handled yet, as the broker counts them; None
        before the consumer subscribed or where the broker cannot tell."""
        return None if self._subscription is None else await self._subscription.lag()

    async def drain(self, timeout: float) -> None:
        """Stop fetching, finish in-flight messages within ``timeout``, give back the rest.

        A message waiting for its next attempt is given back at once; a
        handler still running at the deadline is cancelled and its message
        given back, to be delivered again.
        """
        self._stopping.set()
        if self._subscription is not None:
            await self._subscription.stop()
        pending = {*self._tasks, *([self._fetching] if self._fetching is not None else [])}
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._fetching = None

    async def _subscribe(self) -> Subscription:
        o = self.options
        return await self._broker.subscribe(
            self.operation, group=o.group, address=o.address, prefetch=o.prefetch
        )

    async def _fetch(self, subscription: Subscription) -> None:
        slots = asyncio.Semaphore(self.options.prefetch)
        delay = self.options.reconnect_backoff
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                async for delivery in subscription:
                    await slots.acquire()
                    if self._stopping.is_set():
                        # Fetched as the consumer began to drain: not started here.
                        slots.release()
                        await _settle_quietly(delivery.requeue(), delivery, "requeue")
                        continue
                    # The task leaves the set and frees its slot as it ends.
                    self._tasks.add(loop.create_task(self._handle(delivery, slots)))
                    delay = self.options.reconnect_backoff
                return
            except Exception as exc:
                # The broker adapters reconnect by themselves; a subscription
                # that still fails is made anew, with backoff.
                log.warning(
                    "subscription failed; subscribing again",
                    operation=self.operation.name,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in=delay,
                )
                if await self._wait(delay):
                    return
                delay = min(delay * 2, self.options.reconnect_backoff_max)
                try:
                    subscription = self._subscription = await self._subscribe()
                except Exception as again:
                    log.warning("subscribing failed", operation=self.operation.name, error=str(again))

    def _received(self, delivery: Delivery) -> None:
        """A delivery handed over by a dispatching subscription (its broker keeps
        the prefetch): handled in a task of the consumer's own, as fetched ones are."""
        loop = asyncio.get_running_loop()
        if self._stopping.is_set():
            # Received as the consumer began to drain: not started here.
            task = loop.create_task(_settle_quietly(delivery.requeue(), delivery, "requeue"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            # The task leaves the set as it ends.
            self._tasks.add(loop.create_task(self._handle(delivery)))

    async def _handle(self, delivery: Delivery, slots: asyncio.Semaphore | None = None) -> None:
        """Handle ``delivery`` in its own task, one of ``_tasks``; then release its slot, if any.

        The task leaves ``_tasks`` as it ends, rather than by a done callback
        (one scheduled call less per message); a task cancelled before it
        started, which only draining does, stays there, done.
        """
        try:
            if self._sent_only and delivery.headers.get(MESSAGE_HEADER) in self._sent_only:
                # The application's own send (a heartbeat, a reply on the request's channel)
                # come back to its address: not for its receive operations.
                await _settle_quietly(delivery.ack(), delivery, "acknowledging")
                self._settled(delivery, "ack")
            elif self._siblings:
                await self._route(delivery)
            else:
                await self._attempt(delivery, None)
        finally:
            self._tasks.discard(asyncio.current_task())
            if slots is not None:
                slots.release()

    async def _route(self, delivery: Delivery) -> None:
        """Hand ``delivery`` to the operation whose message it carries, on this address."""
        owner, together, decoded = self._owner(delivery)
        if owner is self or together:
            # One queue feeds both: this is the only copy. A dead letter of the other
            # operation replayed to that queue is handed over before its replay check.
            await owner._attempt(delivery, decoded)
        else:
            # The other operation's own queue holds its own copy.
            await _settle_quietly(delivery.ack(), delivery, "acknowledging")

    async def _attempt(self, delivery: Delivery, decoded: _Decoded | None) -> None:
        """Run the handler as the policy says until ``delivery`` is settled; ``decoded``, the
        payload already read, serves the first attempt."""
        policy = self.options.policy
        attempt = max(1, delivery.delivery_count)
        try:
            replayed_for = delivery.headers.get(REPLAY_HEADER)
            if replayed_for is not None and replayed_for != self._queue:
                # A dead letter replayed on a shared stream or topic for another group.
                await delivery.ack()
                return
            if attempt > policy.max_attempts:
                failure = Internal(f"delivered {attempt - 1} times without being acknowledged")
                await self._dead_letter(delivery, failure, attempt - 1, "exhausted")
                return
            while True:
                try:
                    await self._call(self._context(delivery, attempt, decoded))
                except (Exception, Reject) as exc:
                    if is_poison(exc):
                        await self._dead_letter(delivery, exc, attempt, "poison")
                        return
                    if attempt >= policy.max_attempts:
                        await self._dead_letter(delivery, exc, attempt, "exhausted")
                        return
                    self._retries.inc()
                    if await self._wait(policy.backoff(attempt)):
                        await delivery.requeue()  # shutting down: not started again here
                        return
                    attempt += 1
                    decoded = None  # a handler may have changed it: read again
                else:
                    await delivery.ack()
                    self._settled(delivery, "ack")
                    return
        except asyncio.CancelledError:
            if not delivery.settled:
                await _settle_quietly(delivery.requeue(), delivery, "requeue")
            raise
        except Exception as exc:
            # Settling failed (a lost connection): the broker delivers the
            # message again, which at-least-once allows.
            log.warning(
                "settling a message failed; the broker will deliver it again",
                operation=self.operation.name,
                message_id=delivery.message_id,
                error=f"{type(exc).__name__}: {exc}",
            )

    def _owner(self, delivery: Delivery) -> tuple[OperationConsumer, bool, _Decoded | None]:
        """The consumer whose operation carries ``delivery``'s message, whether it reads this
        consumer's queue, and the payload when the body had to be read to tell. This
        consumer when no operation carries it (then it is refused here)."""
        name = next((v for k, v in delivery.headers.items() if k.lower() == MESSAGE_HEADER), None)
        if name is not None:
            if name not in self._carries:
                for consumer, together in self._siblings:
                    if name in consumer._carries:
                        return consumer, together, None
            return self, True, None
        # A producer other than microlib names no message: the payload tells.
        for consumer, together in ((self, True), *self._siblings):
            try:
                return consumer, together, read_payload(consumer.operation, {}, delivery.body)
            except Error:
                continue
        return self, True, None

    def _settled(self, delivery: Delivery, outcome: str) -> None:
        if self._on_settled is not None:
            self._on_settled(self.operation, delivery, outcome)

    async def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; True at once when the consumer is stopping."""
        try:
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        except TimeoutError:
            return False
        return True

    def _context(self, delivery: Delivery, attempt: int, decoded: _Decoded | None = None) -> CallContext:
        timeout = self.options.handler_timeout
        headers = {k.lower(): v for k, v in delivery.headers.items()}
        return CallContext(
            "message",
            self._service,
            self.operation.name,
            headers,
            None if timeout is None else time.monotonic() + timeout,
            request=delivery.body,
            attributes={
                OPERATION_ATTRIBUTE: self.operation,
                # The payload already read serves the first attempt (None: read it).
                DELIVERY_ATTRIBUTE: (delivery, attempt, decoded),
            },
        )

    async def _innermost(self, ctx: CallContext) -> Any:
        delivery, attempt, decoded = ctx.attributes[DELIVERY_ATTRIBUTE]
        operation = self.operation
        message, payload = decoded or read_payload(operation, ctx.metadata, delivery.body)
        if message.headers_type is not None:
            check_headers(message, ctx.metadata)
        ctx.request = payload
        # An address without parameters has no values to find in it.
        parameters = (operation.match(delivery.address) or {}) if self._parameterized else {}
        if self._checks_parameters:
            # Refused: poison, dead-lettered at once.
            check_parameters(operation, parameters, ctx.metadata, payload)
        correlation_id = delivery.correlation_id or located(message.correlation_id, ctx.metadata, payload)
        context = MessageContext(
            operation=operation,
            address=delivery.address,
            parameters=parameters,
            headers=ctx.metadata,
            key=delivery.key,
            message_id=delivery.message_id,
            correlation_id=correlation_id,
            delivery_count=delivery.delivery_count,
            redelivered=delivery.redelivered,
            broker_id=delivery.broker_id,
            call=ctx,
            attempt=attempt,
            reply_to=delivery.reply_to,
        )
        reply = await self._handler(payload, context)
        if operation.reply is not None:
            if reply is None:
                # A forgotten `return`: no reply went out and the requester timed out, with
                # nothing logged here. A failure instead: logged, retried, dead-lettered.
                raise TypeError(
                    f"operation {operation.name}: the handler returned None; the request's reply "
                    f"({operation.reply.name}) is its return value"
                )
            # Confirmed before the request is acknowledged: a lost reply
            # means the request is handled again.
            await self._publisher.send(
                operation.reply,
                reply,
                address=_reply_address(operation.reply, delivery, ctx.metadata, parameters),
                correlation_id=correlation_id or delivery.message_id,
                reply=True,
            )
        return reply

    async def _dead_letter(self, delivery: Delivery, failure: BaseException, attempts: int, why: str) -> None:
        headers = dead_letter_headers(failure, attempts, why, delivery.address)
        await delivery.dead_letter(headers)
        self._dead[why].inc()
        self._settled(delivery, "dead_letter")
        log.warning(
            "message dead-lettered",
            operation=self.operation.name,
            message_id=delivery.message_id,
            reason=why,
            attempts=attempts,
            code=headers["x-microlib-error-code"],
            error=headers["x-microlib-error"],
            error_reason=headers.get("x-microlib-error-reason"),
        )


def _reply_address(
    reply: OperationDefinition, delivery: Delivery, headers: Mapping[str, str], parameters: Mapping[str, str]
) -> str:
    """Where a reply goes: the request's ``reply_to``, else the header the
    reply's address locates, else the reply channel's own address."""
    found = delivery.reply_to or header_at(headers, reply.address)
    if found:
        return found
    if reply.address.startswith("$message"):
        raise InvalidArgument(
            f"the request names no reply address ({reply.address}, or the broker's reply_to)",
            reason="NO_REPLY_ADDRESS",
            domain="microlib",
        )
    return reply.resolve(parameters, partial=True)


def _sent_only(application: ApplicationDefinition, operation: OperationDefinition) -> frozenset[str]:
    """The messages ``application`` sends to ``operation``'s address (its send operations',
    its replies') that none of its receive operations there carries."""
    sent: set[str] = set()
    received: set[str] = set()
    for one in application.operations.values():
        for side in (one, one.reply):
            if side is not None and side.address == operation.address:
                (sent if side.action is Action.SEND else received).update(m.name for m in side.messages)
    return frozenset(sent - received)


def dead_letter_headers(failure: BaseException, attempts: int, why: str, address: str) -> dict[str, str]:
    """The headers a dead letter carries: what failed, how often, and why it stopped.

    The error is the handler's own (not recovery's generic ``INTERNAL``):
    dead letters are read by operators, not by the message's sender.
    """
    cause = failure.__cause__ if isinstance(failure, Internal) and failure.__cause__ else failure
    if isinstance(cause, Reject):
        text = cause.reason
    elif isinstance(cause, Error):
        text = cause.message
    else:
        text = f"{type(cause).__name__}: {cause}"
    headers = {
        "x-microlib-dead-letter-reason": why,
        "x-microlib-attempts": str(attempts),
        "x-microlib-error": text[:_MAX_HEADER],
        "x-microlib-error-code": outcome_code(failure),
        "x-microlib-original-address": address,
        "x-microlib-dead-lettered-at": f"{time.time():.3f}",
    }
    if isinstance(failure, Error) and failure.reason:
        # A refusal's cause (MISSING_CREDENTIALS, NO_ACCESS_RULE...), for whoever replays it.
        headers["x-microlib-error-reason"] = failure.reason
    if isinstance(failure, Error) and failure.violations:
        headers["x-microlib-violations"] = json.dumps(
            [{"field": v.field, "description": v.description, "rule": v.rule} for v in failure.violations]
        )[: _MAX_HEADER * 8]
    return headers


async def _settle_quietly(action: Awaitable[None], delivery: Delivery, what: str) -> None:
    try:
        await action
    except Exception as exc:
        log.warning(
            f"{what} failed; the broker will deliver the message again",
            message_id=delivery.message_id,
            error=f"{type(exc).__name__}: {exc}",
        )
