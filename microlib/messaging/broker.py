"""The ``Broker`` protocol: the few things the runtime asks of a message broker.

A broker publishes bytes to an address and hands out deliveries of one
receive operation to one consumer group; the runtime does everything else
(decoding, the chain, retries, the dead-letter decision). Each delivery is
settled exactly once: acknowledged after its handler returned, given back
unprocessed, or moved to the dead-letter destination. Four implementations
are chosen by ``messaging.url`` alone: ``memory://`` (embedded),
``amqp://`` (RabbitMQ), ``kafka://`` and ``redis://`` (Redis Streams), by
:func:`~microlib.messaging.adapters.open_broker`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from microlib.messaging.definition import OperationDefinition

__all__ = [
    "REPLAY_HEADER",
    "Broker",
    "Delivery",
    "Dispatching",
    "Inbox",
    "OutgoingMessage",
    "Subscription",
    "for_replay",
]

REPLAY_HEADER = "x-microlib-replay-for"
"""Names the one consumer queue a replayed dead letter is for; the consumers
of other groups on the same stream or topic acknowledge it unhandled."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message on its way to the broker.

    Args:
        address: The concrete address (``orders.eu.placed``): a routing key,
            topic or stream name.
        body: The encoded payload.
        headers: String headers (trace context, message name, content type).
        key: The message key (Kafka key; ignored where the broker has none).
        message_id: The producer's id of the message.
        correlation_id: Ties a reply to its request.
        content_type: The payload's media type.
        reply_to: Where the reply to this request goes, for request/reply.
    """

    address: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    key: str | None = None
    message_id: str = ""
    correlation_id: str | None = None
    content_type: str = "application/json"
    reply_to: str | None = None


def for_replay(letter: OutgoingMessage, queue: str) -> OutgoingMessage:
    """A dead letter as it goes back to ``queue``'s consumers: the dead-letter
    headers dropped (a new failure writes its own), :data:`REPLAY_HEADER` added,
    its original address restored."""
    headers = {k: v for k, v in letter.headers.items() if not k.startswith(_DEAD_LETTER_HEADERS)}
    address = letter.headers.get("x-microlib-original-address") or letter.address
    return replace(letter, address=address, headers={**headers, REPLAY_HEADER: queue})


_DEAD_LETTER_HEADERS = (
    "x-microlib-dead-letter",
    "x-microlib-attempts",
    "x-microlib-error",
    "x-microlib-violations",
    "x-microlib-original-",
    "x-death",
    "x-first-death",
    "x-last-death",
    REPLAY_HEADER,
)

Settle = Callable[[], Awaitable[None]]
DeadLetter = Callable[[Mapping[str, str]], Awaitable[None]]


@dataclass(slots=True, eq=False)
class Delivery:
    """One delivery of a message to a consumer, to settle exactly once.

    The broker fills in what it knows and how to settle; the runtime calls
    exactly one of :meth:`ack`, :meth:`requeue` or :meth:`dead_letter`.

    Args:
        address: The address the message was published to.
        body: The encoded payload.
        headers: The message's headers.
        key: The message key, if any.
        message_id: The producer's id of the message.
        correlation_id: The request's correlation id, if any.
        reply_to: Where the reply goes, for a request.
        delivery_count: Deliveries of this message so far, this one
            included, as far as the broker counts them (1 when it does not).
        redelivered: The broker delivered it before.
        broker_id: The broker's own id (stream entry id, ``partition:offset``,
            delivery tag).
        on_ack: Acknowledges the message: it is done.
        on_requeue: Gives the message back unprocessed, for a later delivery.
        on_dead_letter: Moves the message, with extra headers, to the
            dead-letter destination, then acknowledges it.
    """

    address: str
    body: bytes
    headers: Mapping[str, str]
    on_ack: Settle
    on_requeue: Settle
    on_dead_letter: DeadLetter
    key: str | None = None
    message_id: str = ""
    correlation_id: str | None = None
    reply_to: str | None = None
    delivery_count: int = 1
    redelivered: bool = False
    broker_id: str = ""
    settled: bool = False

    async def ack(self) -> None:
        """The handler returned: the broker may forget the message."""
        self._claim()
        await self.on_ack()

    async def requeue(self) -> None:
        """The message was not processed: deliver it again later."""
        self._claim()
        await self.on_requeue()

    async def dead_letter(self, headers: Mapping[str, str]) -> None:
        """Move the message to the dead-letter destination with ``headers`` added."""
        self._claim()
        await self.on_dead_letter(headers)

    @classmethod
    def of(
        cls,
        message: OutgoingMessage,
        *,
        on_ack: Settle,
        on_requeue: Settle,
        on_dead_letter: DeadLetter,
        delivery_count: int = 1,
        redelivered: bool = False,
        broker_id: str = "",
    ) -> Delivery:
        """A delivery of ``message`` as a broker read it back, settled by the callbacks.

        Args:
            message: The message as read (address, body, headers, key, ids).
            on_ack: See the class.
            on_requeue: See the class.
            on_dead_letter: See the class.
            delivery_count: See the class.
            redelivered: See the class.
            broker_id: See the class.
        """
        return cls(
            address=message.address,
            body=message.body,
            headers=message.headers,
            on_ack=on_ack,
            on_requeue=on_requeue,
            on_dead_letter=on_dead_letter,
            key=message.key,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            reply_to=message.reply_to,
            delivery_count=delivery_count,
            redelivered=redelivered,
            broker_id=broker_id,
        )

    def _claim(self) -> None:
        if self.settled:
            raise RuntimeError(f"delivery {self.broker_id or self.message_id} is already settled")
        self.settled = True


@runtime_checkable
class Subscription(Protocol):
    """The deliveries of one receive operation to one consumer group.

    Iterating yields deliveries until :meth:`stop` is called; the broker
    limits how many are unsettled at once to the subscription's prefetch.
    """

    def __aiter__(self) -> AsyncIterator[Delivery]:
        """The deliveries, as they arrive."""
        ...

    async def stop(self) -> None:
        """Stop fetching: the iteration ends, and deliveries fetched but not
        yet handed out are given back to the broker."""
        ...

    async def lag(self) -> int | None:
        """Messages of the group not handled yet, as the broker counts them
        (docs/messaging.md says how each does); None when it cannot tell."""
        ...


@runtime_checkable
class Dispatching(Protocol):
    """A subscription that can hand each delivery over as its client receives it.

    Where the client already calls back per message (aio-pika), passing the
    delivery on directly spares the buffer, the iteration and the wake-ups
    between them. The broker still limits the deliveries unsettled at once
    to the prefetch.
    """

    def dispatch(self, receive: Callable[[Delivery], None]) -> None:
        """Call ``receive`` with each delivery from now on (those buffered first),
        instead of yielding them; ``receive`` must not block."""
        ...


@dataclass(frozen=True, slots=True)
class Inbox:
    """Where the replies to one instance's requests arrive.

    Args:
        address: What a request names as its ``reply_to``: a queue, a
            stream or a topic of this instance's own.
        subscription: The replies, as deliveries (settling them is
            optional: nothing is redelivered from an inbox).
    """

    address: str
    subscription: Subscription


@runtime_checkable
class Broker(Protocol):
    """A message broker, as the messaging runtime uses it; also a lifecycle component.

    ``start`` connects (within the lifecycle's start timeout); from then on
    the broker reconnects by itself with backoff, and ``check`` raises while
    it is disconnected, so readiness reflects it.
    """

    name: str

    async def start(self) -> None:
        """Connect."""
        ...

    async def stop(self) -> None:
        """Close the connections; safe after a failed start."""
        ...

    async def check(self) -> Mapping[str, Any] | None:
        """Raise while disconnected; otherwise return details."""
        ...

    async def publish(self, operation: OperationDefinition, message: OutgoingMessage) -> None:
        """Send ``message``; returns once the broker has it (confirmed, acknowledged).

        Raises:
            microlib.core.errors.Unavailable: the broker did not take it.
        """
        ...

    def queue(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """The queue of ``group``'s consumer of ``operation`` at ``address``, which names
        its dead letters (``<queue>.dlq``) and its replays: ``<group>.<operation>``,
        unless the contract names the queue (RabbitMQ's ``queue.name``, ``is: queue``)."""
        ...

    def destination(self, operation: OperationDefinition, address: str) -> str:
        """Where this broker puts what is sent to ``operation``'s ``address``: the Kafka topic
        (the binding's ``topic`` over the address), RabbitMQ's exchange and routing key or, for
        ``is: queue``, the queue; the address itself where it is the name (Redis' stream).

        Receive operations of one destination each see the others' messages, whatever
        their addresses say.
        """
        ...

    def source(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """What a subscription of ``operation`` for ``group`` at ``address`` reads: a
        queue, or a stream's or topic's group.

        Two subscriptions of one source share its messages, each taking some;
        of two sources, each gets every message sent to the address.
        """
        ...

    async def subscribe(
        self, operation: OperationDefinition, *, group: str, address: str, prefetch: int
    ) -> Subscription:
        """Declare what ``operation`` needs and start fetching its messages.

        Args:
            operation: A receive operation.
            group: The consumer group: replicas of one service share its
                messages, each group gets every message.
            address: The address to consume, parameters resolved or left as
                ``{name}`` wildcards where the broker can match them.
            prefetch: Deliveries unsettled at once, at most.
        """
        ...

    async def inbox(self, operation: OperationDefinition, name: str) -> Inbox:
        """Create a destination of this instance's own for the replies of ``operation``.

        It lives as long as the broker's connection (deleted when it stops)
        and is read by this instance alone, from its creation on.

        Args:
            operation: The reply operation (``operation.reply`` of a request).
            name: A name unique to this instance (``<group>.replies.<nonce>``).
        """
        ...

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[OutgoingMessage]:
        """The oldest ``limit`` dead letters of a consumer's queue, left in place.

        Args:
            queue: The consumer's queue (``<group>.<operation>``).
            limit: How many at most.

        Returns:
            Each with its original address, body and headers, the
            ``x-microlib-*`` dead-letter headers included.
        """
        ...

    async def dead_letter_count(self, queue: str) -> int | None:
        """How many dead letters ``queue`` has; None where counting is not cheap (Kafka)."""
        ...

    async def replay_dead_letter(self, queue: str, message_id: str) -> bool:
        """Send the dead letter ``message_id`` back to ``queue``'s consumers alone
        (:func:`for_replay`), and remove it from the dead letters where the broker
        can remove one message (all but Kafka).

        Returns:
            False when ``queue`` has no dead letter with that id.
        """
        ...

    async def purge_dead_letters(self, queue: str) -> int:
        """Drop every dead letter of ``queue``; returns how many there were."""
        ...
