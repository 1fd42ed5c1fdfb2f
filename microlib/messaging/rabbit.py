"""The RabbitMQ broker (``messaging.url: amqp://user:pass@host:5672/vhost``), on aio-pika.

Topology comes from the contract's ``amqp`` bindings, with these defaults
where a binding is silent:

- ``is: routingKey`` (the default): messages are published to the binding's
  exchange (default ``amq.topic``, which every broker has) with the concrete
  address as routing key. Each consumer group gets a durable queue
  (``<group>.<operation>``, or the binding's ``queue.name``) bound with the
  address, a ``{parameter}`` matching one word (``*``).
- ``is: queue``: messages go through the default exchange straight to the
  queue named by the binding's ``queue.name`` (default: the address).

Every queue dead-letters into ``<queue>.dlq`` (``x-dead-letter-exchange``),
where microlib also puts the messages it dead-letters itself, with the
error and attempt headers. Messages are persistent; publishing waits for
the broker's confirm. The connection is robust: it reconnects by itself,
redeclares the topology and resumes consuming (each consumer with its own
tag and prefetch again). A consumer RabbitMQ cancels (its queue deleted)
declares its queue again and resumes, as aio-pika's robust queue does. A
message delivered on a connection that died is delivered again by RabbitMQ
(``redelivered``), and is never handed to a handler from the dead channel.
A quorum queue's ``x-delivery-count`` gives the delivery count; a classic
queue says only whether the message was delivered before. Each delivery is
settled by a frame of its own (``basic.ack``, or ``basic.nack`` to give it
back), never a ``multiple`` one that would cover others.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

from microlib.config._secrets import mask_url_passwords
from microlib.core.errors import Unavailable
from microlib.messaging._names import dead_letter_name, queue_name
from microlib.messaging.broker import Delivery, Inbox, OutgoingMessage, for_replay
from microlib.messaging.definition import _PARAMETER, OperationDefinition, _pattern
from microlib.observability._outage import OutageLog, library_loggers

try:
    import aio_pika
    import aiormq
    from aio_pika.abc import (
        AbstractChannel,
        AbstractExchange,
        AbstractIncomingMessage,
        AbstractQueue,
        AbstractRobustChannel,
        AbstractRobustConnection,
    )
    from aio_pika.exceptions import ChannelInvalidStateError
    from aiormq.abc import DeliveredMessage
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the RabbitMQ broker needs aio-pika: pip install 'microlib[rabbitmq]'") from exc

if TYPE_CHECKING:
    from microlib.config.model import MessagingSettings

__all__ = ["RabbitBroker"]

logger = logging.getLogger(__name__)

KEY_HEADER = "x-microlib-key"
"""The contract's message key travels in this header (AMQP has no key of its own)."""

_DEFAULT_EXCHANGE = "amq.topic"
_DEFAULT = ""
"""The default exchange's name: it routes a message to the queue its routing key names."""


def _amqp(operation: OperationDefinition) -> Mapping[str, Any]:
    binding = operation.bindings.get("amqp", {})
    return binding if isinstance(binding, Mapping) else {}


def _text(value: Any) -> str:
    # Bytes come from a long string that is not UTF-8 (pamqp then keeps its bytes) or a
    # byte array: read as Kafka's adapter reads its headers, a producer's bad UTF-8
    # never fails a delivery.
    return value.decode(errors="replace") if isinstance(value, bytes | bytearray) else str(value)


class RabbitBroker:
    """RabbitMQ over AMQP 0-9-1, robust connection and publisher confirms.

    Args:
        settings: The ``messaging`` section.
        client_name: Shown as the connection's name in RabbitMQ's tools.
    """

    name = "messaging"

    def __init__(self, settings: MessagingSettings, *, client_name: str) -> None:
        self.settings = settings
        self._client_name = client_name
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        # Each send operation's route, worked out at its first publish: the
        # exchange's name (the publishing channel restores the exchanges it
        # declared on reconnection), and the routing key.
        self._routes: dict[int, tuple[OperationDefinition, str, str | None]] = {}
        self._subscriptions: list[_RabbitSubscription] = []
        masked = mask_url_passwords(settings.url)
        # Named so in the health check and the errors: where, and the setting that says so.
        self._where = f"RabbitMQ at {masked} (messaging.url)"
        self._outage = OutageLog(
            "RabbitMQ",
            masked,
            "messaging.url",
            lambda: library_loggers(aiormq, aio_pika),
            self.check,
            settings.reconnect_backoff,
            settings.reconnect_backoff_max,
        )

    async def start(self) -> None:
        """Connect and open the publishing channel (with publisher confirms).

        Raises:
            Unavailable: RabbitMQ is unreachable or refused the login.
        """
        try:
            with self._outage.scope():  # its reconnections' lines are this broker's
                self._connection = await aio_pika.connect_robust(
                    self.settings.url,
                    timeout=self.settings.connect_timeout,
                    reconnect_interval=self.settings.reconnect_backoff,
                    client_properties={"connection_name": self._client_name},
                )
            self._channel = await self._connection.channel(publisher_confirms=True)
        except (OSError, aio_pika.exceptions.AMQPError) as exc:
            raise Unavailable(f"{self._where}: {type(exc).__name__}: {exc}") from exc
        self._outage.install()

    async def stop(self) -> None:
        """Stop the consumers and close the connection."""
        for subscription in self._subscriptions:
            await subscription.stop()
        self._subscriptions.clear()
        self._exchanges.clear()
        self._routes.clear()
        connection, self._connection = self._connection, None
        self._channel = None
        if connection is not None:
            await connection.close()
        await self._outage.uninstall()

    async def check(self) -> Mapping[str, Any] | None:
        """Healthy while connected and the publishing channel is open.

        Raises:
            Unavailable: the connection is down, or back while the publishing
                channel is not reopened yet (a publish would fail meanwhile).
        """
        connection = self._connection
        if connection is None or connection.is_closed or not connection.connected.is_set():
            raise Unavailable(f"{self._where}: connection down; reconnecting")
        if self._channel is None or self._channel.is_closed:
            raise Unavailable(f"{self._where}: connection back, its publishing channel not yet; reopening")
        return {"broker": "rabbitmq", "consumers": len(self._subscriptions)}

    async def publish(self, operation: OperationDefinition, message: OutgoingMessage) -> None:
        """Publish persistently and wait for the broker's confirm.

        Raises:
            Unavailable: the broker refused or is unreachable.
        """
        try:
            route = self._routes.get(id(operation))
            if route is None or route[0] is not operation:
                route = self._routes[id(operation)] = (operation, *await self._route(operation))
            _, exchange, routing_key = route
            await _publish(self._publishing(), exchange, routing_key or message.address, message)
        except (OSError, aio_pika.exceptions.AMQPError, ChannelInvalidStateError) as exc:
            raise Unavailable(f"RabbitMQ did not take the message: {type(exc).__name__}: {exc}") from exc

    async def _route(self, operation: OperationDefinition) -> tuple[str, str | None]:
        """Where ``operation``'s messages go: the exchange's name (declared if it
        must be), and the routing key (None: the message's address)."""
        binding = _amqp(operation)
        if operation.address.startswith("$message"):
            # A reply to the queue the request named in reply_to, as AMQP has it.
            return _DEFAULT, None
        if binding.get("is") == "queue":
            name = binding.get("queue", {}).get("name")
            return _DEFAULT, str(name) if name else None
        return (await self._exchange(operation)).name, None

    def queue(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """The binding's ``queue.name``, the address itself for ``is: queue``, else the
        group's own (``<group>.<operation>``).

        Raises:
            ValueError: ``is: queue`` names the queue after an address that still
                has parameters: each needs a value in ``messaging.consumers``.
        """
        binding = _amqp(operation)
        declared = binding.get("queue", {})
        if binding.get("is") == "queue" and not declared.get("name") and "{" in address:
            raise ValueError(
                f"RabbitMQ cannot consume the pattern {address!r} as one queue (is: queue): set "
                f"messaging.consumers.{operation.name}.parameters for {list(operation.parameters)}, "
                "or the binding's queue.name"
            )
        name = str(declared.get("name") or (address if binding.get("is") == "queue" else ""))
        return name or queue_name(operation, group)

    def destination(self, operation: OperationDefinition, address: str) -> str:
        """For ``is: queue``, the queue (its ``queue.name``, else the address); else the
        exchange and, after a space, the address, its routing key."""
        binding = _amqp(operation)
        if binding.get("is") == "queue":
            return str(binding.get("queue", {}).get("name") or address)
        return f"{binding.get('exchange', {}).get('name') or _DEFAULT_EXCHANGE} {address}"

    def source(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """The queue.

        Raises:
            ValueError: as :meth:`queue`.
        """
        return self.queue(operation, group=group, address=address)

    async def subscribe(
        self, operation: OperationDefinition, *, group: str, address: str, prefetch: int
    ) -> _RabbitSubscription:
        """Declare the group's queue (and its dead letters), bind it, and consume it.

        Raises:
            ValueError: ``is: queue`` names the queue after an address that still
                has parameters: each needs a value in ``messaging.consumers``.
        """
        binding = _amqp(operation)
        declared = binding.get("queue", {})
        name = self.queue(operation, group=group, address=address)
        dead = dead_letter_name(name, self.settings.dead_letter_suffix)
        channel = await self._open().channel()
        await channel.set_qos(prefetch_count=prefetch)
        await channel.declare_queue(dead, durable=True)
        queue = await channel.declare_queue(
            name,
            durable=bool(declared.get("durable", True)),
            exclusive=bool(declared.get("exclusive", False)),
            auto_delete=bool(declared.get("autoDelete", False)),
            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead},
        )
        bindings: tuple[tuple[str, str], ...] = ()
        accepts = None
        if binding.get("is") != "queue":
            exchange = await self._exchange(operation, channel)
            key, exact = _binding_key(address)
            bindings = ((exchange.name, key),)
            await queue.bind(exchange, routing_key=key)
            # A queue of the contract's naming may be read by other operations too, whose
            # messages the wider key brings as well: the consumers hand those over.
            accepts = None if exact or declared.get("name") else _pattern(address)
        subscription = _RabbitSubscription(self, channel, queue, dead, bindings, accepts)
        await subscription.consume()
        self._subscriptions.append(subscription)
        return subscription

    async def inbox(self, operation: OperationDefinition, name: str) -> Inbox:
        """An exclusive, auto-deleted queue ``name``.

        A reply reaches it through the default exchange (a ``reply_to``
        address, AMQP's convention) or, for a reply channel with a fixed
        address, through the reply's exchange, where it is bound by its name.
        """
        channel = await self._open().channel()
        queue = await channel.declare_queue(name, exclusive=True, auto_delete=True)
        bindings: tuple[tuple[str, str], ...] = ()
        if not operation.address.startswith("$message") and _amqp(operation).get("is") != "queue":
            exchange = await self._exchange(operation, channel)
            bindings = ((exchange.name, name),)
            await queue.bind(exchange, routing_key=name)
        subscription = _RabbitSubscription(self, channel, queue, "", bindings)
        await subscription.consume()
        self._subscriptions.append(subscription)
        return Inbox(name, subscription)

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[OutgoingMessage]:
        """Peek at ``<queue>.dlq``: the messages are fetched unacknowledged and given back."""
        found: list[OutgoingMessage] = []
        async with self._dead_queue(queue) as dead:
            while dead is not None and len(found) < limit:
                incoming = await dead.get(no_ack=False, fail=False)
                if incoming is None:
                    break
                found.append(_letter(incoming))
        return found

    async def replay_dead_letter(self, queue: str, message_id: str) -> bool:
        """Publish the dead letter to ``queue`` (through the default exchange), then
        acknowledge it in ``<queue>.dlq``; the letters before it keep their place."""
        async with self._dead_queue(queue) as dead:
            while dead is not None:
                incoming = await dead.get(no_ack=False, fail=False)
                if incoming is None:
                    break
                if (incoming.message_id or "") == message_id:
                    await _publish(self._publishing(), _DEFAULT, queue, for_replay(_letter(incoming), queue))
                    await incoming.ack()
                    return True
        return False

    async def dead_letter_count(self, queue: str) -> int | None:
        """The messages ready in ``<queue>.dlq``."""
        async with self._dead_queue(queue) as dead:
            return 0 if dead is None else int(dead.declaration_result.message_count or 0)

    async def purge_dead_letters(self, queue: str) -> int:
        """Purge ``<queue>.dlq``."""
        async with self._dead_queue(queue) as dead:
            if dead is None:
                return 0
            purged = await dead.purge()
            return int(purged.message_count or 0)

    @contextlib.asynccontextmanager
    async def _dead_queue(self, queue: str) -> AsyncIterator[AbstractQueue | None]:
        """``<queue>.dlq`` on a channel of its own (None: never declared); closing
        the channel gives back every message fetched and not acknowledged, in order."""
        channel = await self._open().channel()
        try:
            dead: AbstractQueue | None
            try:
                dead = await channel.declare_queue(
                    dead_letter_name(queue, self.settings.dead_letter_suffix), passive=True
                )
            except aio_pika.exceptions.ChannelNotFoundEntity:
                dead = None  # no consumer declared it yet: no dead letters
            yield dead
        finally:
            await channel.close()

    def _open(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise Unavailable("the RabbitMQ broker is not started", reason="BROKER_STOPPED")
        return self._connection

    def _publishing(self) -> AbstractChannel:
        if self._channel is None:
            raise Unavailable("the RabbitMQ broker is not started", reason="BROKER_STOPPED")
        return self._channel

    async def _exchange(
        self, operation: OperationDefinition, channel: AbstractChannel | None = None
    ) -> AbstractExchange:
        declared = _amqp(operation).get("exchange", {})
        name = str(declared.get("name") or _DEFAULT_EXCHANGE)
        if channel is None and name in self._exchanges:
            return self._exchanges[name]
        channel = channel or self._publishing()
        if name.startswith("amq."):
            # The predefined exchanges exist on every broker and may not be declared.
            exchange = await channel.get_exchange(name, ensure=False)
        else:
            exchange = await channel.declare_exchange(
                name,
                type=str(declared.get("type", "topic")),
                durable=bool(declared.get("durable", True)),
                auto_delete=bool(declared.get("autoDelete", False)),
            )
        if channel is self._channel:
            self._exchanges[name] = exchange
        return exchange


async def _publish(
    channel: AbstractChannel,
    exchange: str,
    routing_key: str,
    message: OutgoingMessage,
    extra: Mapping[str, str] | None = None,
) -> None:
    """Publish ``message`` (``extra`` headers added) through ``exchange`` and
    wait for the broker's confirm.

    What ``Exchange.publish(aio_pika.Message(...), routing_key)`` sends, frame
    for frame (mandatory, persistent), without the aio-pika message: it is
    built only for its AMQP properties to be read back, each of its twenty
    attributes written through a lock check, once per message.

    Raises:
        ChannelInvalidStateError: the channel is closed (as ``Exchange.publish``).
    """
    if channel.is_closed:
        raise ChannelInvalidStateError(f"{channel!r} closed")
    # A robust channel's: waits while the connection is being re-established.
    underlay = await channel.get_underlay_channel()
    body = message.body
    await underlay.basic_publish(
        body if type(body) is bytes else bytes(body),
        exchange=exchange,
        routing_key=routing_key,
        properties=_properties(message, extra),
        mandatory=True,
    )


_PERSISTENT = aio_pika.DeliveryMode.PERSISTENT


def _properties(
    message: OutgoingMessage, extra: Mapping[str, str] | None = None
) -> aiormq.spec.Basic.Properties:
    """``message``'s AMQP properties, equal to ``aio_pika.Message(...).properties``
    for the same values (aio-pika sends ``priority`` 0, and no empty id)."""
    headers: dict[str, Any] = {**message.headers, **extra} if extra else {**message.headers}
    if message.key is not None:
        headers[KEY_HEADER] = message.key
    return aiormq.spec.Basic.Properties(
        content_type=message.content_type,
        correlation_id=message.correlation_id or None,
        delivery_mode=_PERSISTENT,
        headers=headers,
        message_id=message.message_id or None,
        priority=0,
        reply_to=message.reply_to or None,
    )


def _headers(table: Mapping[str, Any] | None) -> dict[str, str]:
    # pamqp decodes a table's text values to str already: the usual header costs no call.
    return {k: v if type(v) is str else _text(v) for k, v in (table or {}).items()}


class _Properties(Protocol):
    """The AMQP properties an :class:`OutgoingMessage` keeps: those of an aiormq
    ``Basic.Properties`` or an aio-pika message, under the same names."""

    @property
    def message_id(self) -> str | None: ...
    @property
    def correlation_id(self) -> str | None: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def reply_to(self) -> str | None: ...


def _letter(incoming: AbstractIncomingMessage) -> OutgoingMessage:
    headers = _headers(incoming.headers)
    return _outgoing(incoming.body, incoming, headers, headers.get("x-microlib-original-address", ""))


def _outgoing(body: bytes, properties: _Properties, headers: dict[str, str], address: str) -> OutgoingMessage:
    key = headers.pop(KEY_HEADER, None)
    return OutgoingMessage(
        address=address,
        body=body,
        headers=headers,
        key=key,
        message_id=properties.message_id or "",
        # aio-pika reads an empty one as None.
        correlation_id=properties.correlation_id or None,
        content_type=properties.content_type or "application/json",
        reply_to=properties.reply_to or None,
    )


class _RabbitSubscription:
    """One consumer of one queue, on a channel of its own (its QoS is the prefetch).

    It consumes on the robust channel's underlying aiormq channel: each delivery
    is aiormq's message, settled by a frame on the channel it came on, without an
    aio-pika ``IncomingMessage`` and aio-pika's task per delivery. aio-pika
    restores only the consumers it started itself, so this one restores its
    own, with the same consumer tag (the channel's prefetch is restored with
    the channel):

    - after a reconnection, from the robust channel's reopen callback, called
      once the channel has declared the queue and its bindings again;
    - after RabbitMQ cancelled it (its queue deleted, say), as aio-pika's robust
      channel does for its consumers: the queue and its bindings declared again
      on a channel of their own, then consumed, retried every reconnect backoff.
    """

    def __init__(
        self,
        broker: RabbitBroker,
        channel: AbstractRobustChannel,
        queue: AbstractQueue,
        dead: str,
        bindings: tuple[tuple[str, str], ...],
        accepts: re.Pattern[str] | None = None,
    ) -> None:
        self._broker = broker
        self._accepts = accepts
        """The routing keys the operation takes, when its binding takes more (see _binding_key)."""
        self._channel = channel
        self._queue = queue
        self._dead = dead
        self._bindings = bindings
        """The queue's (exchange, routing key) bindings, to declare it again."""
        self._buffer: asyncio.Queue[DeliveredMessage | None] = asyncio.Queue()
        self._receive: Callable[[Delivery], None] | None = None
        self._tag: str | None = None
        self._stopped = False
        self._recovery: asyncio.Task[None] | None = None
        self._aside_tasks: set[asyncio.Task[None]] = set()

    async def consume(self) -> None:
        await self._resume()
        self._channel.reopen_callbacks.add(self._reopened)

    async def _resume(self) -> None:
        """Consume the queue on the robust channel's current underlying channel,
        with the consumer's tag, unless stopped or consuming there already."""
        underlay = await self._channel.get_underlay_channel()
        if self._stopped or self._tag in cast(aiormq.Channel, underlay).consumers:
            return
        underlay.on_consumer_cancel_callbacks.add(self._cancelled)
        ok = await underlay.basic_consume(self._queue.name, self._received, consumer_tag=self._tag)
        self._tag = ok.consumer_tag

    async def _reopened(self, channel: AbstractRobustChannel | None) -> None:
        # A failure closes the channel or the connection, whose reopening calls this again.
        try:
            await self._resume()
        except Exception:
            logger.warning("RabbitMQ consumer %s not resumed", self._tag, exc_info=True)

    def _cancelled(self, frame: aiormq.spec.Basic.Cancel) -> None:
        """RabbitMQ cancelled a consumer of the channel (basic.cancel)."""
        recovering = self._recovery is not None and not self._recovery.done()
        if frame.consumer_tag == self._tag and not self._stopped and not recovering:
            self._recovery = asyncio.create_task(self._recover())

    async def _recover(self) -> None:
        """What aio-pika's robust channel does for a consumer of its own that
        RabbitMQ cancelled: declare the queue and its bindings again, on a
        probe channel (a refusal closes that one, not the consumer's), and
        consume again; retried after the reconnect backoff until it succeeds."""
        while not self._stopped:
            try:
                probe = await self._broker._open().channel(publisher_confirms=False)
                try:
                    await self._declare(await probe.get_underlay_channel())
                finally:
                    await probe.close()
                await self._resume()
                return
            except Exception:
                logger.warning("RabbitMQ consumer %s not restored yet", self._tag, exc_info=True)
            await asyncio.sleep(self._broker.settings.reconnect_backoff)

    async def _declare(self, channel: aiormq.abc.AbstractChannel) -> None:
        queue = self._queue
        await channel.queue_declare(
            queue.name,
            durable=queue.durable,
            exclusive=queue.exclusive,
            auto_delete=queue.auto_delete,
            arguments=queue.arguments,
        )
        for exchange, routing_key in self._bindings:
            await channel.queue_bind(queue.name, exchange, routing_key=routing_key)

    def _received(self, message: DeliveredMessage) -> Coroutine[Any, Any, None]:
        """aiormq's consumer callback, called as the delivery's frames are read.

        The delivery is handed to the consumer here, before aiormq's task for
        it runs: the consumer's handler task starts on the loop's next turn,
        not the one after. aiormq runs what this returns in a task of its own,
        which it cancels when the channel closes; a handler is not to be cut
        short, so it runs in the consumer's task, not in that one.
        """
        receive = self._receive
        if receive is None:
            self._buffer.put_nowait(message)
        elif self._stopped:
            return _requeue_quietly(message)
        elif not message.channel.is_closed and (delivery := self._handed(message)) is not None:
            receive(delivery)
        # else: its connection died, and RabbitMQ delivers it again on the new one.
        return _nothing()

    def _handed(self, message: DeliveredMessage) -> Delivery | None:
        """``message`` as a :class:`Delivery`; None if it cannot be read, in which case
        it is rejected, so RabbitMQ moves it to the queue's dead letters
        (``x-dead-letter-exchange``). Never raises: in aiormq's consumer callback,
        an exception would end the channel's frame reader, and the channel."""
        accepts = self._accepts
        if accepts is not None and accepts.fullmatch(message.delivery.routing_key or "") is None:  # type: ignore[union-attr]
            # Brought by the wider binding key, for another address: not this operation's.
            self._aside(_ack_quietly(message.channel, message.delivery.delivery_tag))  # type: ignore[union-attr,arg-type]
            return None
        try:
            return self._deliver(message)
        except Exception:
            logger.exception(
                "RabbitMQ delivery on %s unreadable: rejected to %s",
                self._queue.name,
                self._dead or "no dead letters (a reply inbox)",
            )
        tag = message.delivery.delivery_tag  # type: ignore[union-attr]
        self._aside(_reject_quietly(message.channel, tag))  # type: ignore[arg-type]
        return None

    def _aside(self, settling: Coroutine[Any, Any, None]) -> None:
        """Settle a delivery no consumer is handed, in a task of its own."""
        task = asyncio.get_running_loop().create_task(settling)
        self._aside_tasks.add(task)
        task.add_done_callback(self._aside_tasks.discard)

    def dispatch(self, receive: Callable[[Delivery], None]) -> None:
        """Hand each delivery to ``receive`` as aiormq delivers it, those
        buffered so far first (see :class:`~microlib.messaging.broker.Dispatching`)."""
        self._receive = receive
        while not self._buffer.empty():
            message = self._buffer.get_nowait()
            if message is None or message.channel.is_closed:
                continue
            if (delivery := self._handed(message)) is not None:
                receive(delivery)

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._deliveries()

    async def lag(self) -> int | None:
        """Messages ready in the queue, not yet delivered (RabbitMQ does not count
        the unacknowledged ones in a declare)."""
        declared = await self._queue.declare()
        return int(declared.message_count or 0)

    async def stop(self) -> None:
        """Cancel the consumer and give back what was received but not handed out."""
        if self._stopped:
            return
        self._stopped = True
        self._channel.reopen_callbacks.discard(self._reopened)
        if self._recovery is not None:
            self._recovery.cancel()
        if self._tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._tag)
        while not self._buffer.empty():
            message = self._buffer.get_nowait()
            if message is not None:
                await _requeue_quietly(message)
        self._buffer.put_nowait(None)

    async def _deliveries(self) -> AsyncIterator[Delivery]:
        while not self._stopped:
            message = await self._buffer.get()
            if message is None:
                return
            if message.channel.is_closed:
                # Its connection died: RabbitMQ delivers it again on the new one.
                continue
            if (delivery := self._handed(message)) is not None:
                yield delivery

    def _deliver(self, message: DeliveredMessage) -> Delivery:
        properties = message.header.properties
        headers = _headers(properties.headers)
        delivery: aiormq.spec.Basic.Deliver = message.delivery  # type: ignore[assignment]
        previous = headers.get("x-delivery-count")
        count = (
            int(previous) + 1
            if previous is not None and previous.isdecimal()
            else 2
            if delivery.redelivered
            else 1
        )
        address = delivery.routing_key or ""
        channel = message.channel
        tag: int = delivery.delivery_tag  # type: ignore[assignment] # a Deliver's is always set
        broker = self._broker

        async def dead_letter(extra: Mapping[str, str]) -> None:
            # The message as it came (its key back in the headers), made only for this rare path.
            letter = _outgoing(message.body, properties, _headers(properties.headers), address)
            await _publish(broker._publishing(), _DEFAULT, self._dead, letter, extra)
            await _settle(channel).basic_ack(tag)

        # Built directly, not through Delivery.of an OutgoingMessage: one
        # frozen dataclass less per delivery.
        return Delivery(
            address=address,
            body=message.body,
            headers=headers,
            # Each delivery is settled by a frame of its own, never a ``multiple``
            # covering others: frames for different messages commute, so no
            # settlement waits for another's, whatever order handlers end in.
            on_ack=functools.partial(_ack, channel, tag),
            on_requeue=functools.partial(_nack, channel, tag),
            on_dead_letter=dead_letter,
            key=headers.pop(KEY_HEADER, None),
            message_id=properties.message_id or "",
            # Empty ones are None, as aio-pika's IncomingMessage has them.
            correlation_id=properties.correlation_id or None,
            reply_to=properties.reply_to or None,
            delivery_count=count,
            redelivered=bool(delivery.redelivered),
            broker_id=str(tag),
        )


def _binding_key(address: str) -> tuple[str, bool]:
    """The topic binding key of an address, and whether it binds exactly that address.

    A topic exchange matches whole words (separated by ``.``): an unresolved
    ``{parameter}`` that is a word of its own is ``*``. One inside a word
    (``adeo-{env}-costing``, an MQTT-style ``lights/{id}/dim``, which is one
    word) cannot be written as a binding: that word is ``*``, and the
    subscription of the operation's own queue acknowledges, unhandled, what
    the wider key brings that is not the address.
    """
    words = address.split(".")
    exact = all(_PARAMETER.fullmatch(w) or not _PARAMETER.search(w) for w in words)
    return ".".join("*" if _PARAMETER.search(w) else w for w in words), exact


def _settle(channel: aiormq.abc.AbstractChannel) -> aiormq.abc.AbstractChannel:
    """The channel a delivery came on, to settle it there.

    Raises:
        ChannelInvalidStateError: it is closed, so is the delivery (as
            ``IncomingMessage.ack`` and ``nack`` raise).
    """
    if channel.is_closed:
        raise ChannelInvalidStateError
    return channel


async def _ack(channel: aiormq.abc.AbstractChannel, tag: int) -> None:
    await _settle(channel).basic_ack(tag)


async def _nack(channel: aiormq.abc.AbstractChannel, tag: int) -> None:
    await _settle(channel).basic_nack(tag, requeue=True)


async def _requeue_quietly(message: DeliveredMessage) -> None:
    """Give ``message`` back; if its channel is gone, RabbitMQ does once it sees that."""
    with contextlib.suppress(Exception):
        await _nack(message.channel, message.delivery.delivery_tag)  # type: ignore[union-attr,arg-type]


async def _ack_quietly(channel: aiormq.abc.AbstractChannel, tag: int) -> None:
    with contextlib.suppress(Exception):
        await _settle(channel).basic_ack(tag)


async def _reject_quietly(channel: aiormq.abc.AbstractChannel, tag: int) -> None:
    with contextlib.suppress(Exception):
        await _settle(channel).basic_reject(tag, requeue=False)


async def _nothing() -> None:
    """What aiormq's task for a delivery runs once the delivery is handed over."""
