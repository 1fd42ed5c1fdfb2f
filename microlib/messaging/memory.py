"""The in-memory broker: the embedded default, settling messages as the real brokers do.

Brokers opened on the same ``memory://`` URL in one process share one hub,
so a service publishing and a service consuming in the same process (or the
same test) talk to each other. A hub lives as long as the process: like a
real broker's queues, it outlives the clients that come and go.

Behaviour, as on RabbitMQ: each consumer group has a queue per receive
operation, created when a consumer subscribes; a message goes to every
queue whose address matches (none: it is dropped, as an unroutable
message is). Consumers of one group share the queue's messages; a message
is handed to one consumer at a time and at most ``prefetch`` are unsettled
per consumer. A requeued message goes back to the head of its queue and is
delivered again with ``redelivered`` set and its delivery count raised; so
are the unsettled messages of a consumer whose broker stops (a crash or a
lost connection). A dead-lettered message moves, with the added headers, to
the queue's dead-letter queue (``<group>.<operation>.dlq``), where
:meth:`MemoryBroker.dead_letters` reads it.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from microlib.core.errors import Unavailable
from microlib.messaging._names import dead_letter_name, queue_name
from microlib.messaging.broker import Delivery, Inbox, OutgoingMessage, for_replay
from microlib.messaging.definition import OperationDefinition, _pattern

__all__ = ["MemoryBroker"]


@dataclass(slots=True)
class _Stored:
    message: OutgoingMessage
    deliveries: int = 0


class _Queue:
    """Messages waiting for the consumers of one group, and the consumers waiting for them."""

    def __init__(self, name: str, address: str) -> None:
        self.name = name
        self.pattern = _pattern(address)
        self.ready: collections.deque[_Stored] = collections.deque()
        self.waiters: collections.deque[asyncio.Future[_Stored | None]] = collections.deque()

    def put(self, stored: _Stored, *, front: bool = False) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(stored)
                return
        if front:
            self.ready.appendleft(stored)
        else:
            self.ready.append(stored)


class _Hub:
    """The queues of one ``memory://`` URL in this process."""

    def __init__(self) -> None:
        self.queues: dict[str, _Queue] = {}
        self.dead: dict[str, list[OutgoingMessage]] = collections.defaultdict(list)

    def publish(self, message: OutgoingMessage) -> None:
        for queue in self.queues.values():
            if queue.pattern.fullmatch(message.address):
                queue.put(_Stored(message))


_hubs: dict[str, _Hub] = {}


class MemoryBroker:
    """A broker in this process's memory (``messaging.url: memory://``).

    Args:
        url: ``memory://`` or ``memory://<name>``: brokers with the same URL
            share their queues.
        dead_letter_suffix: Appended to a queue's name to name its dead
            letters' queue.
    """

    name = "messaging"

    def __init__(self, url: str = "memory://", *, dead_letter_suffix: str = ".dlq") -> None:
        self.url = url
        self._suffix = dead_letter_suffix
        self._hub: _Hub | None = None
        self._subscriptions: list[_MemorySubscription] = []
        self._inboxes: list[str] = []

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[OutgoingMessage]:
        """The messages dead-lettered from ``queue`` (``<group>.<operation>``), oldest first."""
        return list(self._connected().dead.get(dead_letter_name(queue, self._suffix), ()))[:limit]

    async def replay_dead_letter(self, queue: str, message_id: str) -> bool:
        """Move the dead letter ``message_id`` back to the end of ``queue``."""
        hub = self._connected()
        dead = hub.dead.get(dead_letter_name(queue, self._suffix), [])
        target = hub.queues.get(queue)
        for i, letter in enumerate(dead):
            if letter.message_id == message_id and target is not None:
                del dead[i]
                target.put(_Stored(for_replay(letter, queue)))
                return True
        return False

    async def dead_letter_count(self, queue: str) -> int | None:
        """How many dead letters ``queue`` has."""
        return len(self._connected().dead.get(dead_letter_name(queue, self._suffix), ()))

    async def purge_dead_letters(self, queue: str) -> int:
        """Forget the dead letters of ``queue``."""
        dead = self._connected().dead.get(dead_letter_name(queue, self._suffix), [])
        count = len(dead)
        dead.clear()
        return count

    async def start(self) -> None:
        """Join the hub of this URL, creating it if this is the first broker on it."""
        self._hub = _hubs.setdefault(self.url, _Hub())

    async def stop(self) -> None:
        """Give the unsettled messages back, as a closed connection does, and leave the hub."""
        for subscription in self._subscriptions:
            await subscription.stop()
            subscription.abandon()
        self._subscriptions.clear()
        if self._hub is not None:
            for name in self._inboxes:
                self._hub.queues.pop(name, None)
        self._inboxes.clear()
        self._hub = None

    async def check(self) -> Mapping[str, Any] | None:
        """Healthy while started.

        Raises:
            Unavailable: the broker is not started.
        """
        hub = self._connected()
        return {"broker": "memory", "queues": len(hub.queues)}

    async def publish(self, operation: OperationDefinition, message: OutgoingMessage) -> None:
        """Put ``message`` in every queue whose address matches it."""
        self._connected().publish(message)

    def queue(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """The group's queue for ``operation`` (``<group>.<operation>``)."""
        return queue_name(operation, group)

    def destination(self, operation: OperationDefinition, address: str) -> str:
        """The address."""
        return address

    def source(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """The queue."""
        return self.queue(operation, group=group, address=address)

    async def subscribe(
        self, operation: OperationDefinition, *, group: str, address: str, prefetch: int
    ) -> _MemorySubscription:
        """The group's queue for ``operation`` (created on first use) and a consumer of it."""
        hub = self._connected()
        name = queue_name(operation, group)
        queue = hub.queues.get(name)
        if queue is None:
            queue = hub.queues[name] = _Queue(name, address)
        subscription = _MemorySubscription(queue, hub.dead[dead_letter_name(name, self._suffix)], prefetch)
        self._subscriptions.append(subscription)
        return subscription

    async def inbox(self, operation: OperationDefinition, name: str) -> Inbox:
        """A queue named ``name`` receiving what is published to the address ``name``."""
        hub = self._connected()
        queue = hub.queues[name] = _Queue(name, name)
        subscription = _MemorySubscription(queue, [], prefetch=1024)
        self._subscriptions.append(subscription)
        self._inboxes.append(name)
        return Inbox(name, subscription)

    def _connected(self) -> _Hub:
        if self._hub is None:
            raise Unavailable("the in-memory broker is not started", reason="BROKER_STOPPED")
        return self._hub


class _MemorySubscription:
    """One consumer of a queue, holding at most ``prefetch`` unsettled messages."""

    def __init__(self, queue: _Queue, dead: list[OutgoingMessage], prefetch: int) -> None:
        self._queue = queue
        self._dead = dead
        self._credit = asyncio.Semaphore(prefetch)
        self._unsettled: dict[int, tuple[_Stored, Delivery]] = {}
        self._waiter: asyncio.Future[_Stored | None] | None = None
        self._stopped = False

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._deliveries()

    async def _deliveries(self) -> AsyncIterator[Delivery]:
        while not self._stopped:
            await self._credit.acquire()
            stored = await self._next()
            if stored is None:
                self._credit.release()
                return
            yield self._deliver(stored)

    async def _next(self) -> _Stored | None:
        if self._stopped:
            return None
        if self._queue.ready:
            return self._queue.ready.popleft()
        waiter: asyncio.Future[_Stored | None] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._queue.waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and (handed := waiter.result()) is not None:
                # Handed over just as the consumer was cancelled: not lost.
                self._queue.put(handed, front=True)
            raise
        finally:
            self._waiter = None

    def _deliver(self, stored: _Stored) -> Delivery:
        stored.deliveries += 1
        message = stored.message
        token = id(stored)

        async def ack() -> None:
            self._settled(token)

        async def requeue() -> None:
            self._settled(token)
            self._queue.put(stored, front=True)

        async def dead_letter(headers: Mapping[str, str]) -> None:
            self._settled(token)
            self._dead.append(replace(message, headers={**message.headers, **headers}))

        delivery = Delivery.of(
            message,
            on_ack=ack,
            on_requeue=requeue,
            on_dead_letter=dead_letter,
            delivery_count=stored.deliveries,
            redelivered=stored.deliveries > 1,
            broker_id=f"{self._queue.name}:{token:x}",
        )
        self._unsettled[token] = (stored, delivery)
        return delivery

    def _settled(self, token: int) -> None:
        if self._unsettled.pop(token, None) is not None:
            self._credit.release()

    async def lag(self) -> int | None:
        """Messages waiting in the queue, not yet delivered."""
        return len(self._queue.ready)

    async def stop(self) -> None:
        """End the iteration; a consumer waiting for a message stops waiting."""
        self._stopped = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def abandon(self) -> None:
        """The connection is gone: every unsettled message goes back to the queue's head."""
        for stored, delivery in reversed(list(self._unsettled.values())):
            # Settling it later fails, as on a closed channel.
            delivery.settled = True
            self._queue.put(stored, front=True)
        self._unsettled.clear()
