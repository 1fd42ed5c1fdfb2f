"""The Kafka broker (``messaging.url: kafka://host:9092[,host:9092]``), on aiokafka.

An address is a topic (the ``kafka`` binding's ``topic`` replaces it); a
``{parameter}`` left in a consumer's address matches by topic pattern. The
contract's key becomes the record key, so one key's messages share a
partition. Topics whose binding gives ``partitions`` (and ``replicas``) are
created with them; others are left to the broker's auto-creation.

The producer is idempotent (``acks=all``): a publish returns once every
in-sync replica has the record. Consumers of a group share the partitions
(the ``kafka`` binding's ``groupId`` names the group). Offsets are committed
by hand, only past messages that were handled (acknowledged or
dead-lettered): per partition, the commit is the first offset not yet
settled, so a message in progress is never skipped by a crash or a
rebalance, while messages after it may be handled a second time (at least
once). A new group starts at the earliest retained record. Kafka counts no
deliveries, so ``delivery_count`` is always 1; with ``prefetch`` above 1 the
records of a partition are handled concurrently, so order per key holds
only with ``prefetch: 1``. A dead letter is a record on the topic
``<group>.<operation>.dlq`` with the original topic, partition and offset in
its headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import structlog

from microlib.core.errors import Unavailable
from microlib.messaging._aiokafka_private import cancellations_of_its_own, close_connections
from microlib.messaging._names import binding_group, dead_letter_name, queue_name
from microlib.messaging.broker import Delivery, Inbox, OutgoingMessage, for_replay
from microlib.messaging.definition import _PARAMETER, OperationDefinition
from microlib.observability._outage import OutageLog, library_loggers

try:
    import aiokafka
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
    from aiokafka.abc import ConsumerRebalanceListener
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import KafkaError
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the Kafka broker needs aiokafka: pip install 'microlib[kafka]'") from exc

if TYPE_CHECKING:
    from microlib.config.model import MessagingSettings

__all__ = ["KafkaBroker"]

log = structlog.get_logger("microlib.messaging")

# What AMQP carries as properties travels in these headers.
_ID = "x-microlib-message-id"
_CORRELATION = "x-microlib-correlation-id"
_CONTENT_TYPE = "x-microlib-content-type"
_REPLY_TO = "x-microlib-reply-to"
_PROPERTIES = (_ID, _CORRELATION, _CONTENT_TYPE, _REPLY_TO)
_TOPIC_EXISTS = 36
_POLL_MS = 500
_CLOSE_TIMEOUT = 3.0


def _kafka(operation: OperationDefinition) -> Mapping[str, Any]:
    binding = operation.bindings.get("kafka", {})
    return binding if isinstance(binding, Mapping) else {}


# Kafka's own rule (kafka.common.internals.Topic); a {parameter} stands for one word.
_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


def _topic(operation: OperationDefinition, address: str) -> str:
    """The topic of ``operation`` at ``address``: the binding's ``topic``, else the address.

    Raises:
        ValueError: it is no Kafka topic name (``user/deleted``, the AsyncAPI 2
            examples' style): Kafka would only answer by timing out.
    """
    topic = str(_kafka(operation).get("topic") or address)
    if not _TOPIC_NAME.fullmatch(_PARAMETER.sub("x", topic)):
        raise ValueError(
            f"operation {operation.name}: the address {topic!r} is no Kafka topic name (1 to 249 letters, "
            "digits, '.', '_', '-'): give the channel's kafka binding a topic"
        )
    return topic


def _group_id(operation: OperationDefinition, group: str) -> str:
    # A Kafka group spans topics: one per receive operation, like a RabbitMQ
    # queue, so two operations on one topic each get every record and one
    # rebalancing never stops the other. A contract's groupId is as written.
    return group if group == binding_group(operation) else queue_name(operation, group)


def _record_headers(
    message: OutgoingMessage, extra: Mapping[str, str] | None = None
) -> list[tuple[str, bytes]]:
    headers = {**message.headers, **(extra or {})}
    properties = {
        _ID: message.message_id,
        _CORRELATION: message.correlation_id,
        _CONTENT_TYPE: message.content_type,
        _REPLY_TO: message.reply_to,
    }
    headers.update({k: v for k, v in properties.items() if v})
    return [(k, v.encode()) for k, v in headers.items()]


def _message(record: ConsumerRecord[bytes, bytes]) -> OutgoingMessage:
    # Kafka lets a header go without a value (null): read as empty.
    headers = {k: "" if v is None else v.decode(errors="replace") for k, v in record.headers}
    properties = {name: headers.pop(name, None) for name in _PROPERTIES}
    return OutgoingMessage(
        address=record.topic,
        body=record.value or b"",
        headers=headers,
        key=None if record.key is None else record.key.decode(errors="replace"),
        message_id=properties[_ID] or "",
        correlation_id=properties[_CORRELATION],
        content_type=properties[_CONTENT_TYPE] or "application/json",
        reply_to=properties[_REPLY_TO],
    )


class KafkaBroker:
    """Kafka with consumer groups, manual commits and an idempotent producer.

    Args:
        settings: The ``messaging`` section.
        client_name: The Kafka client id.
    """

    name = "messaging"

    def __init__(self, settings: MessagingSettings, *, client_name: str) -> None:
        self.settings = settings
        self.bootstrap = settings.url.partition("://")[2].rstrip("/")
        self._client_name = client_name
        self._producer: AIOKafkaProducer | None = None
        self._topics: set[str] = set()
        self._subscriptions: list[_KafkaSubscription] = []
        self._inboxes: list[_KafkaInbox] = []
        self._outage = OutageLog(
            "Kafka",
            self.bootstrap,
            "messaging.url",
            lambda: library_loggers(aiokafka),
            self.check,
            settings.reconnect_backoff,
            settings.reconnect_backoff_max,
        )

    async def start(self) -> None:
        """Start the idempotent producer (it connects and fetches metadata).

        Raises:
            Unavailable: no bootstrap server answered within ``messaging.connect_timeout``.
        """
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self._client_name,
            enable_idempotence=True,
            acks="all",
            request_timeout_ms=int(self.settings.publish_timeout * 1000),
            retry_backoff_ms=int(self.settings.reconnect_backoff * 1000),
        )
        try:
            async with asyncio.timeout(self.settings.connect_timeout):
                await producer.start()
        except BaseException as exc:
            # Cancelled too (a service stopped while it starts): a started
            # client's connections are closed only by stop().
            await producer.stop()
            if isinstance(exc, KafkaError | OSError | TimeoutError):
                raise Unavailable(
                    f"Kafka at {self.bootstrap} (messaging.url): {type(exc).__name__}: {exc}"
                ) from exc
            raise
        self._producer = producer
        self._outage.install()

    async def stop(self) -> None:
        """Stop the producer, then commit what was handled and leave the groups.

        The producer goes first (the consumers have drained, nothing is
        dead-lettered any more): leaving a group can wait for a rebalance,
        and a stop cut short by the lifecycle's timeout must not leave the
        producer's connections open.
        """
        try:
            producer, self._producer = self._producer, None
            if producer is not None:
                await producer.stop()
            inboxes, self._inboxes = self._inboxes, []
            for inbox in inboxes:
                await inbox.close()
            if inboxes:
                await self._delete([inbox.topic for inbox in inboxes])
            subscriptions, self._subscriptions = self._subscriptions, []
            for closing, subscription in enumerate(subscriptions):
                try:
                    await subscription.close()
                except (KafkaError, OSError) as exc:
                    log.warning("leaving the Kafka group failed", error=f"{type(exc).__name__}: {exc}")
                except asyncio.CancelledError:
                    # Cut short by the service's stop timeout: the groups not left yet
                    # notice at their session timeout, their connections close now.
                    for rest in subscriptions[closing + 1 :]:
                        await rest.abandon()
                    raise
        finally:  # aiokafka's errors while leaving a group in an outage are held until here
            await self._outage.uninstall()

    async def check(self) -> Mapping[str, Any] | None:
        """Ask the cluster for its metadata.

        Raises:
            Unavailable: no broker answers.
        """
        producer = self._running()
        try:
            await producer.client.fetch_all_metadata()
        except (KafkaError, OSError) as exc:
            where = f"Kafka at {self.bootstrap} (messaging.url)"
            raise Unavailable(f"{where}: {type(exc).__name__}: {exc}") from exc
        return {"broker": "kafka", "brokers": len(producer.client.cluster.brokers())}

    async def publish(self, operation: OperationDefinition, message: OutgoingMessage) -> None:
        """Send the record and wait for every in-sync replica to have it.

        Raises:
            Unavailable: the cluster did not take it.
            ValueError: the address is no Kafka topic name.
        """
        binding = _kafka(operation)
        topic = _topic(operation, message.address)
        await self._declare(topic, binding)
        await self._send(topic, message)

    async def _send(
        self, topic: str, message: OutgoingMessage, extra: Mapping[str, str] | None = None
    ) -> None:
        try:
            await self._running().send_and_wait(
                topic,
                message.body,
                key=None if message.key is None else message.key.encode(),
                headers=_record_headers(message, extra),
            )
        except KafkaError as exc:
            raise Unavailable(f"Kafka did not take the record: {type(exc).__name__}: {exc}") from exc

    def queue(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """``<group>.<operation>``, also the Kafka group id unless the binding's ``groupId`` names it."""
        return queue_name(operation, group)

    def destination(self, operation: OperationDefinition, address: str) -> str:
        """The topic (the binding's ``topic``, else the address).

        Raises:
            ValueError: it is no Kafka topic name.
        """
        return _topic(operation, address)

    def source(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """The topic (or topic pattern) and, after a space, the Kafka group id.

        Raises:
            ValueError: the address is no Kafka topic name.
        """
        return f"{_topic(operation, address)} {_group_id(operation, group)}"

    async def subscribe(
        self, operation: OperationDefinition, *, group: str, address: str, prefetch: int
    ) -> _KafkaSubscription:
        """Join ``group`` on the operation's topic (or topic pattern).

        Raises:
            Unavailable: Kafka did not answer.
            ValueError: the address is no Kafka topic name.
        """
        binding = _kafka(operation)
        topic = _topic(operation, address)
        queue = self.queue(operation, group=group, address=address)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=self._client_name,
            group_id=_group_id(operation, group),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=prefetch,
            retry_backoff_ms=int(self.settings.reconnect_backoff * 1000),
            # A pattern finds new topics at each metadata refresh.
            metadata_max_age_ms=int(self.settings.topic_refresh * 1000) if "{" in topic else 5 * 60 * 1000,
        )
        dead = dead_letter_name(queue, self.settings.dead_letter_suffix)
        subscription = _KafkaSubscription(self, consumer, dead, prefetch)
        if "{" in topic:
            pattern = "".join(
                re.escape(part) if i % 2 == 0 else "[^.]+" for i, part in enumerate(_PARAMETER.split(topic))
            )
            consumer.subscribe(pattern=f"^{pattern}$", listener=subscription.listener)
        else:
            await self._declare(topic, binding)
            consumer.subscribe([topic], listener=subscription.listener)
        try:
            await consumer.start()
        except BaseException as exc:
            await consumer.stop()
            if isinstance(exc, KafkaError | OSError):
                raise Unavailable(f"Kafka consumer for {topic!r}: {type(exc).__name__}: {exc}") from exc
            raise
        self._subscriptions.append(subscription)
        return subscription

    async def inbox(self, operation: OperationDefinition, name: str) -> Inbox:
        """The one-partition topic ``name``, read from its start by a consumer
        in no group; deleted when the broker stops."""
        await self._declare(name, {"partitions": 1})
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=self._client_name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        consumer.assign([TopicPartition(name, 0)])
        inbox = _KafkaInbox(name, consumer, self.settings.reconnect_backoff)
        self._inboxes.append(inbox)
        return Inbox(name, inbox)

    async def _delete(self, topics: list[str]) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self._client_name)
        try:
            await admin.start()
            await admin.delete_topics(topics)
        except (KafkaError, OSError) as exc:
            log.warning(
                "deleting the reply topics failed", topics=topics, error=f"{type(exc).__name__}: {exc}"
            )
        finally:
            await admin.close()

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[OutgoingMessage]:
        """Read the oldest records of ``<queue>.dlq`` without committing anything."""
        return await self._read(dead_letter_name(queue, self.settings.dead_letter_suffix), limit)

    async def replay_dead_letter(self, queue: str, message_id: str) -> bool:
        """Send the dead letter back to its topic, for ``queue``'s group alone.

        Kafka cannot delete one record: the dead letter stays in ``<queue>.dlq``
        (listed still) until the topic is purged.
        """
        for letter in await self._read(dead_letter_name(queue, self.settings.dead_letter_suffix), None):
            if letter.message_id == message_id:
                again = for_replay(letter, queue)
                await self._send(again.address, again)
                return True
        return False

    async def dead_letter_count(self, queue: str) -> int | None:
        """None: counting a topic's records takes a consumer of its own."""
        return None

    async def purge_dead_letters(self, queue: str) -> int:
        """Delete the topic ``<queue>.dlq`` (the next dead letter creates it again)."""
        topic = dead_letter_name(queue, self.settings.dead_letter_suffix)
        count = len(await self._read(topic, None))
        if count:
            await self._delete([topic])
            self._topics.discard(topic)
        return count

    async def _read(self, topic: str, limit: int | None) -> list[OutgoingMessage]:
        """The records of ``topic`` from its start (at most ``limit``), committing
        nothing, each with the address it was first published to."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        try:
            await consumer.start()  # inside: a start cancelled or failed is stopped too
            partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                return []
            assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            ends = await consumer.end_offsets(assigned)
            found: list[OutgoingMessage] = []
            while (limit is None or len(found) < limit) and await self._behind(consumer, ends):
                wanted = None if limit is None else limit - len(found)
                batch = await consumer.getmany(timeout_ms=_POLL_MS, max_records=wanted)
                for records in batch.values():
                    for record in records:
                        message = _message(record)
                        original = message.headers.get("x-microlib-original-address", "")
                        found.append(dataclasses.replace(message, address=original))
            return found if limit is None else found[:limit]
        finally:
            # aiokafka's group-less consumer starts a task that its stop()
            # awaits: cancelled before its first step, it raises CancelledError.
            await asyncio.sleep(0)
            await consumer.stop()

    @staticmethod
    async def _behind(consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return True
        return False

    def _running(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise Unavailable("the Kafka broker is not started", reason="BROKER_STOPPED")
        return self._producer

    async def _declare(self, topic: str, binding: Mapping[str, Any]) -> None:
        partitions = binding.get("partitions")
        if topic in self._topics or not isinstance(partitions, int):
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self._client_name)
        try:
            await admin.start()
            replicas = binding.get("replicas")
            response = await admin.create_topics(
                [NewTopic(topic, partitions, replicas if isinstance(replicas, int) else 1)]
            )
        finally:
            await admin.close()
        for name, code, *rest in response.topic_errors:
            if code not in (0, _TOPIC_EXISTS):
                raise Unavailable(f"Kafka refused to create topic {name!r}: error {code} {rest}")
        self._topics.add(topic)


class _Offsets:
    """One partition's records in progress, and how far the commit may go."""

    def __init__(self) -> None:
        self.pending: set[int] = set()
        self.highest = -1

    def next_commit(self) -> int:
        """The first offset not settled yet: everything before it was handled."""
        return min(self.pending) if self.pending else self.highest + 1


class _KafkaSubscription:
    """One group member: fetches records, tracks what was settled, commits.

    Commits happen in the fetching loop, between two fetches, as the
    consumer's group protocol expects (a commit racing the group's rejoin
    makes the member rejoin again); a settled record never waits for its
    commit, and one left uncommitted by a crash is handled again.
    """

    def __init__(self, broker: KafkaBroker, consumer: AIOKafkaConsumer, dead: str, prefetch: int) -> None:
        self._broker = broker
        self._consumer = consumer
        self._dead = dead
        self._prefetch = prefetch
        self._offsets: dict[TopicPartition, _Offsets] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._unsettled = 0
        self._room = asyncio.Event()
        self._room.set()
        self._dirty = False
        self._stopped = False
        self.listener = _Listener(self)

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._deliveries()

    async def lag(self) -> int | None:
        """End offset minus the group's committed offset (or the first retained
        offset, before any commit), summed over every partition of the topics
        consumed, not only this member's."""
        consumer = self._consumer
        partitions = [
            TopicPartition(topic, p)
            for topic in sorted(consumer.subscription())
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return None
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        total = 0
        for tp in partitions:
            committed = await consumer.committed(tp)
            total += max(0, ends[tp] - (starts[tp] if committed is None else committed))
        return total

    async def stop(self) -> None:
        """Stop fetching; records fetched and not handed out are read again by the next owner."""
        self._stopped = True
        self._room.set()

    async def close(self) -> None:
        """Commit what was handled and leave the group, within a bounded time.

        Leaving waits for the group coordinator, which can be stuck in a
        rebalance; past ``_CLOSE_TIMEOUT`` the consumer's connections are
        closed without it (the group notices at its session timeout).
        """
        await self.stop()
        await self._commit_once(timeout=min(self._broker.settings.publish_timeout, _CLOSE_TIMEOUT))
        stopped = False
        try:
            with cancellations_of_its_own():
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    await self._consumer.stop()
                    stopped = True
        except TimeoutError:
            log.warning("leaving the Kafka group timed out; closing the connections", timeout=_CLOSE_TIMEOUT)
        except asyncio.CancelledError:
            # The service's stop timeout ran out first: the connections still close.
            await close_connections(self._consumer)
            raise
        if not stopped:
            await close_connections(self._consumer)

    async def abandon(self) -> None:
        """Close the connections without committing or waiting to leave the group."""
        await self.stop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0):  # marks the consumer closed, waits for nothing
                await self._consumer.stop()
        await close_connections(self._consumer)

    async def _commit_once(self, timeout: float | None = None) -> None:
        """Commit, per assigned partition, up to the first record not settled yet."""
        assigned = self._consumer.assignment()
        offsets = {
            tp: state.next_commit()
            for tp, state in self._offsets.items()
            if tp in assigned and state.next_commit() > self._committed.get(tp, -1)
        }
        self._dirty = False
        if not offsets:
            return
        try:
            async with asyncio.timeout(timeout or self._broker.settings.publish_timeout):
                await self._consumer.commit(offsets)
        except (KafkaError, OSError, TimeoutError) as exc:
            # A rebalance under way refuses commits; the next owner of a
            # partition reads again from the last commit that went through.
            # Not retried at once: the next settled record commits anew.
            log.info("Kafka commit refused", error=f"{type(exc).__name__}: {exc}")
            return
        self._committed.update(offsets)

    def forget(self, partitions: Any) -> None:
        """Partitions taken away: their records in progress no longer move the commit."""
        for tp in partitions:
            self._offsets.pop(tp, None)
            self._committed.pop(tp, None)

    async def _deliveries(self) -> AsyncIterator[Delivery]:
        settings = self._broker.settings
        while not self._stopped:
            await self._room.wait()
            if self._stopped:
                return
            if self._dirty:
                await self._commit_once()
            try:
                batch = await self._consumer.getmany(
                    timeout_ms=_POLL_MS, max_records=self._prefetch - self._unsettled
                )
            except (KafkaError, OSError) as exc:
                log.warning("Kafka fetch failed; retrying", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(settings.reconnect_backoff)
                continue
            for tp, records in batch.items():
                for record in records:
                    if self._stopped:
                        return
                    yield self._deliver(tp, record)

    def _deliver(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> Delivery:
        state = self._offsets.setdefault(tp, _Offsets())
        offset = record.offset
        state.pending.add(offset)
        state.highest = max(state.highest, offset)
        message = _message(record)
        self._unsettled += 1
        if self._unsettled >= self._prefetch:
            self._room.clear()

        async def ack() -> None:
            await self._done(tp, state, offset)

        async def requeue() -> None:
            # Kafka gives nothing back: the offset stays uncommitted, so the
            # partition's next owner reads the record again.
            self._release()

        async def dead_letter(headers: Mapping[str, str]) -> None:
            extra = {
                **headers,
                "x-microlib-original-partition": str(tp.partition),
                "x-microlib-original-offset": str(offset),
            }
            await self._broker._send(self._dead, message, extra)
            await self._done(tp, state, offset)

        return Delivery.of(
            message,
            on_ack=ack,
            on_requeue=requeue,
            on_dead_letter=dead_letter,
            broker_id=f"{tp.topic}:{tp.partition}:{offset}",
        )

    async def _done(self, tp: TopicPartition, state: _Offsets, offset: int) -> None:
        self._release()
        state.pending.discard(offset)
        self._dirty = True

    def _release(self) -> None:
        self._unsettled -= 1
        self._room.set()


async def _nothing(*_: Any) -> None:
    """Settles a reply: an inbox commits nothing and redelivers nothing."""


class _KafkaInbox:
    """Reads the replies on this instance's own topic, committing nothing."""

    def __init__(self, topic: str, consumer: AIOKafkaConsumer, backoff: float) -> None:
        self.topic = topic
        self._consumer = consumer
        self._backoff = backoff
        self._stopped = False

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._deliveries()

    async def lag(self) -> int | None:
        """None: replies are not a group's backlog."""
        return None

    async def stop(self) -> None:
        """End the iteration."""
        self._stopped = True

    async def close(self) -> None:
        """Stop, and close the consumer."""
        self._stopped = True
        await asyncio.sleep(0)  # see dead_letters: let its first step run
        await self._consumer.stop()

    async def _deliveries(self) -> AsyncIterator[Delivery]:
        while not self._stopped:
            try:
                batch = await self._consumer.getmany(timeout_ms=_POLL_MS)
            except (KafkaError, OSError) as exc:
                log.warning("Kafka fetch of replies failed; retrying", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self._backoff)
                continue
            for tp, records in batch.items():
                for record in records:
                    yield Delivery.of(
                        _message(record),
                        on_ack=_nothing,
                        on_requeue=_nothing,
                        on_dead_letter=_nothing,
                        broker_id=f"{tp.topic}:{tp.partition}:{record.offset}",
                    )


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Forgets the records in progress of partitions that go to another member.

    Nothing is committed here: every settled record was committed as it was
    settled, and a commit during the rebalance would be refused anyway.
    """

    def __init__(self, subscription: _KafkaSubscription) -> None:
        self._subscription = subscription

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self._subscription.forget(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Nothing to do: the committed offsets say where to start."""
