"""``Messaging``: a service's broker, publisher and consumers, as one component.

The composition root (:class:`~microlib.service.Service`) builds it
when the service includes a consumer or asks for its publisher, configures
it from the ``messaging`` section and registers it before the servers, so
at shutdown it drains after them: requests still in flight can publish.
Readiness follows the broker's connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from microlib.core.errors import Unavailable
from microlib.messaging._names import binding_group
from microlib.messaging.adapters import open_broker
from microlib.messaging.backlog import Backlog
from microlib.messaging.broker import Broker, Delivery, OutgoingMessage
from microlib.messaging.consumer import ConsumerOptions, OperationConsumer, Settled
from microlib.messaging.definition import ApplicationDefinition, OperationDefinition, RetryPolicy
from microlib.messaging.drift import check_consumer
from microlib.messaging.publishing import BrokerPublisher
from microlib.messaging.retry import policy_from_settings

if TYPE_CHECKING:
    from microlib.config.model import MessagingSettings
    from microlib.core.chain import Chain
    from microlib.observability.metrics import Metrics
    from microlib.observability.tracing import Tracing

__all__ = ["Messaging", "application_of", "consumer_address", "consumer_group"]

log = structlog.get_logger("microlib.messaging")


def application_of(consumer: object) -> ApplicationDefinition | None:
    """The AsyncAPI document a consumer implements, from its generated interface.

    Returns:
        The ``__microlib_asyncapi__`` of the first class in the consumer's
        MRO that has one, or None for an object that is not a consumer.
    """
    for cls in type(consumer).__mro__:
        found = cls.__dict__.get("__microlib_asyncapi__")
        if isinstance(found, ApplicationDefinition):
            return found
    return None


class Messaging:
    """The broker, the publisher and every consumer of one service.

    Args:
        chain: The service's interceptor chain; every delivery runs through it.
        publisher: The service's publisher, attached to the broker on start.
        settings: The ``messaging`` section.
        group: The consumer group when ``messaging.group`` is unset (the
            service's name).
        client_name: Names this instance to the broker.
        tracing: The service's tracing.
        metrics: The service's metrics.
    """

    name = "messaging"

    def __init__(
        self,
        chain: Chain,
        publisher: BrokerPublisher,
        settings: MessagingSettings,
        *,
        group: str,
        client_name: str,
        tracing: Tracing,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self._chain = chain
        self._group = settings.group or group
        self._client_name = client_name
        self._metrics = metrics
        self._tracing = tracing
        self.publisher = publisher
        self._consumers: list[tuple[ApplicationDefinition, object]] = []
        self._running: list[OperationConsumer] = []
        self._broker: Broker | None = None
        self._sampling: asyncio.Task[None] | None = None
        self._sampled = asyncio.Event()  # set: the backlog sampler stops
        self.observers: list[Settled] = []
        """Told of each delivery a consumer acknowledged or dead-lettered."""

    @property
    def broker(self) -> Broker:
        """The broker, once started.

        Raises:
            RuntimeError: before :meth:`start`.
        """
        if self._broker is None:
            raise RuntimeError("the messaging component is not started")
        return self._broker

    def include(self, consumer: object, application: ApplicationDefinition) -> None:
        """Consume every receive operation of ``application`` with ``consumer``'s handlers.

        Raises:
            TypeError: the consumer lacks a handler.
        """
        check_consumer(application, consumer)
        self._consumers.append((application, consumer))

    def options(self, operation: OperationDefinition) -> ConsumerOptions:
        """How ``operation`` is consumed: its ``messaging.consumers`` entry over
        the contract over the section's defaults."""
        s = self.settings
        own = s.consumers.get(operation.name)
        retry = own.retry if own is not None and own.retry is not None else None
        policy: RetryPolicy
        if retry is not None:
            policy = policy_from_settings(retry)
        elif operation.retry is not None:
            policy = operation.retry
        elif s.retry is not None:
            policy = policy_from_settings(s.retry)
        else:
            policy = RetryPolicy()
        return ConsumerOptions(
            group=consumer_group(s, operation, self._group),
            address=consumer_address(s, operation),
            prefetch=(own.prefetch if own is not None and own.prefetch else None) or s.prefetch,
            policy=policy,
            handler_timeout=(own.handler_timeout if own is not None else None) or s.handler_timeout,
            reconnect_backoff=s.reconnect_backoff,
            reconnect_backoff_max=s.reconnect_backoff_max,
        )

    async def start(self) -> None:
        """Connect, then subscribe every consumer.

        Raises:
            ValueError: ``messaging.consumers`` or
                ``messaging.idempotency.operations`` names an operation no
                included consumer receives, or the broker cannot send to a
                send operation's address (a Kafka topic name it refuses).
        """
        receives = {op.name for application, _ in self._consumers for op in application.receives()}
        named = {
            "messaging.consumers": set(self.settings.consumers),
            # A typo there would silently deduplicate nothing.
            "messaging.idempotency.operations": set(self.settings.idempotency.operations),
        }
        for key, names in named.items():
            unknown = sorted(names - receives)
            if unknown:
                raise ValueError(
                    f"{key} names operation(s) {unknown} that no included consumer receives; "
                    f"known: {sorted(receives)}"
                )
        broker = self._broker = open_broker(self.settings, client_name=self._client_name)
        # A send operation's address the broker refuses fails the start, not each publish after it
        # (the documents known now: the consumers' and those generated publishers registered).
        applications = [application for application, _ in self._consumers]
        for application in [*applications, *self.publisher.documents.values()]:
            for operation in application.sends():
                broker.destination(operation, operation.address)
        try:
            await broker.start()
            self.publisher.attach(
                broker,
                tracing=self._tracing,
                metrics=self._metrics,
                timeout=self.settings.publish_timeout,
                request_timeout=self.settings.request_timeout,
                inbox_prefix=f"{self._group}.replies",
            )
            await self._subscribe_all(broker)
            if self.settings.lag_interval is not None:
                self._sampled.clear()
                self._sampling = asyncio.get_running_loop().create_task(
                    Backlog(broker, self._metrics).run(
                        self._running, self.settings.lag_interval, self._sampled
                    ),
                    name="microlib-messaging-backlog",
                )
        except BaseException:
            # The lifecycle stops only the components that started.
            await self.stop()
            raise

    async def _subscribe_all(self, broker: Broker) -> None:
        consumers = [
            OperationConsumer(
                application,
                operation,
                getattr(consumer, operation.python_name),
                self.options(operation),
                chain=self._chain,
                broker=broker,
                publisher=self.publisher,
                metrics=self._metrics,
                on_settled=self._settled,
            )
            for application, consumer in self._consumers
            for operation in application.receives()
        ]
        # Told before the first delivery, which may carry another's message.
        _share_addresses(consumers, broker)
        for running in consumers:
            await running.start()
            self._running.append(running)

    def _settled(self, operation: OperationDefinition, delivery: Delivery, outcome: str) -> None:
        for observer in self.observers:
            observer(operation, delivery, outcome)

    def _queue(self, operation: OperationDefinition) -> str:
        options = self.options(operation)
        return self.broker.queue(operation, group=options.group, address=options.address)

    async def dead_letters(
        self, operation: OperationDefinition, *, limit: int = 100
    ) -> list[OutgoingMessage]:
        """The oldest dead letters of this service's consumer of ``operation``, left in place."""
        queue = self._queue(operation)
        return await self.broker.dead_letters(queue, limit=limit)

    async def replay_dead_letter(self, operation: OperationDefinition, message_id: str) -> bool:
        """Send one dead letter of this service's consumer of ``operation`` back to it.

        Returns:
            False when there is no dead letter ``message_id``.
        """
        queue = self._queue(operation)
        return await self.broker.replay_dead_letter(queue, message_id)

    async def purge_dead_letters(self, operation: OperationDefinition) -> int:
        """Drop every dead letter of this service's consumer of ``operation``; returns how many."""
        queue = self._queue(operation)
        return await self.broker.purge_dead_letters(queue)

    async def drain(self, timeout: float) -> None:
        """Stop fetching and let in-flight messages finish, all consumers at once."""
        sampling, self._sampling = self._sampling, None
        if sampling is not None:
            # Let a sample under way finish its round trip (see Backlog.run);
            # cancel only one that does not finish in time.
            self._sampled.set()
            _, late = await asyncio.wait({sampling}, timeout=max(min(timeout, 5.0), 1.0))
            for task in late:
                task.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
        consumers, self._running = self._running, []
        await asyncio.gather(*(c.drain(timeout) for c in consumers))

    async def stop(self) -> None:
        """Give back what is still unsettled and close the broker's connections."""
        await self.drain(0)
        await self.publisher.close()
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.stop()

    async def check(self) -> Mapping[str, Any] | None:
        """The broker's check: raises while it is disconnected.

        Raises:
            Unavailable: not started, or the broker is unreachable.
        """
        if self._broker is None:
            raise Unavailable("messaging is not started")
        details = dict(await self._broker.check() or {})
        details["consumers"] = len(self._running)
        return details


def _share_addresses(consumers: list[OperationConsumer], broker: Broker) -> None:
    """Tell each consumer of the others receiving what it receives, and which read its queue.

    Two consumers see each other's messages when the broker puts their addresses in one
    place (:meth:`Broker.destination`: channels of different addresses whose Kafka binding
    names one topic) or when they read one source (a RabbitMQ ``queue.name`` both give).
    """
    sources = {
        c: broker.source(c.operation, group=c.options.group, address=c.options.address) for c in consumers
    }
    groups: list[tuple[set[str], list[OperationConsumer]]] = []
    for running in consumers:
        keys = {
            f"to {broker.destination(running.operation, running.options.address)}",
            f"from {sources[running]}",
        }
        joined = [g for g in groups if g[0] & keys]
        merged = (
            keys.union(*(k for k, _ in joined)),
            [c for _, members in joined for c in members] + [running],
        )
        groups = [g for g in groups if not any(g is j for j in joined)] + [merged]
    for _, shared in groups:
        if len(shared) < 2:
            continue
        for running in shared:
            running.share_address(
                [(other, sources[other] == sources[running]) for other in shared if other is not running]
            )


def consumer_address(settings: MessagingSettings, operation: OperationDefinition) -> str:
    """The address ``operation`` is consumed at: its ``messaging.consumers`` entry's
    parameters filled in, the others left as ``{name}``."""
    own = settings.consumers.get(operation.name)
    return operation.resolve(own.parameters if own is not None else {}, partial=True)


def consumer_group(settings: MessagingSettings, operation: OperationDefinition, default: str) -> str:
    """The group consuming ``operation``: its ``messaging.consumers`` entry's, else
    (on Kafka) the binding's ``groupId``, else ``messaging.group``, else ``default``."""
    own = settings.consumers.get(operation.name)
    # The kafka binding's groupId names the group on Kafka only.
    on_kafka = settings.url.startswith("kafka://")
    return (
        (own.group if own is not None and own.group else None)
        or (binding_group(operation) if on_kafka else None)
        or settings.group
        or default
    )
