"""The Redis Streams broker (``messaging.url: redis://host:6379/0``), on redis-py.

An address is a stream; a message is one entry (fields ``body``,
``headers`` as JSON, ``message_id``, ``key``, ``correlation_id``,
``content_type``, ``reply_to``). A consumer group, named
``<group>.<operation>`` like a RabbitMQ queue, reads it with XREADGROUP;
a message is acknowledged (XACK) after its handler returned.
The acknowledgements of handlers that return in the same turn of the event
loop go in one XACK, and the messages published in one turn in one
pipeline (``microlib.messaging._batch``): each still waits for Redis's
reply before it counts as acknowledged or published.
An entry delivered to a consumer that died, or lost its connection, stays
pending in the group: once it has been idle for ``messaging.reclaim_idle``
seconds another consumer of the group claims it (XAUTOCLAIM) and handles
it again, with its delivery count raised. A dead letter is added to the
stream ``<group>.<operation>.dlq`` and acknowledged in one transaction
(MULTI), so it is never both lost and acknowledged.

A new group starts at the beginning of the stream (id ``0``), so messages
published before the consumer's first start are not missed. Streams are
not trimmed here: cap them with ``XTRIM`` or a retention job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import orjson
import structlog

from microlib.core.errors import InvalidArgument, Unavailable
from microlib.messaging._batch import Batch
from microlib.messaging._names import dead_letter_name, queue_name
from microlib.messaging.broker import Delivery, Inbox, OutgoingMessage, for_replay
from microlib.messaging.consumer import dead_letter_headers
from microlib.messaging.definition import OperationDefinition
from microlib.observability._outage import FailureStreak

try:
    from redis import exceptions as redis_errors
    from redis.asyncio import Redis
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the Redis Streams broker needs redis-py: pip install 'microlib[redis]'") from exc

if TYPE_CHECKING:
    from microlib.config.model import MessagingSettings

__all__ = ["RedisBroker"]

log = structlog.get_logger("microlib.messaging")

_BLOCK_MS = 500
_PAGE = 100
_Entry = tuple[bytes, dict[bytes, bytes]]


def _fields(message: OutgoingMessage, extra: Mapping[str, str] | None = None) -> dict[Any, Any]:
    headers = {**message.headers, **extra} if extra else message.headers
    fields: dict[Any, Any] = {
        "body": message.body,
        "headers": orjson.dumps(dict(headers)),
        "message_id": message.message_id,
        "content_type": message.content_type,
    }
    for name, value in (
        ("key", message.key),
        ("correlation_id", message.correlation_id),
        ("reply_to", message.reply_to),
    ):
        if value is not None:
            fields[name] = value
    return fields


def _text(fields: Mapping[bytes, bytes], name: bytes) -> str | None:
    value = fields.get(name)
    # As the other adapters read text: another producer's bad UTF-8 fails no entry.
    return None if value is None else value.decode(errors="replace")


def _headers(fields: Mapping[bytes, bytes]) -> dict[str, str]:
    """The entry's ``headers`` field, a JSON object as microlib writes it.

    Raises:
        ValueError: it is something else (another producer wrote the entry).
    """
    try:
        headers = orjson.loads(fields.get(b"headers", b"{}"))
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"its headers field is not JSON: {exc}") from None
    if not isinstance(headers, dict):
        raise ValueError(f"its headers field is a JSON {type(headers).__name__}, not an object")
    return headers


def _message(address: str, fields: Mapping[bytes, bytes]) -> OutgoingMessage:
    return OutgoingMessage(
        address=address,
        body=fields.get(b"body", b""),
        headers=_headers(fields),
        key=_text(fields, b"key"),
        message_id=_text(fields, b"message_id") or "",
        correlation_id=_text(fields, b"correlation_id"),
        content_type=_text(fields, b"content_type") or "application/json",
        reply_to=_text(fields, b"reply_to"),
    )


class RedisBroker:
    """Redis Streams with consumer groups.

    Args:
        settings: The ``messaging`` section (``url``, timeouts, ``reclaim_idle``).
        client_name: The consumer's name within its groups (unique per instance).
    """

    name = "messaging"

    def __init__(self, settings: MessagingSettings, *, client_name: str) -> None:
        self.settings = settings
        self._consumer = client_name
        self._client: Redis | None = None
        self._subscriptions: list[_RedisSubscription] = []
        self._inboxes: list[str] = []
        self._adds: Batch[tuple[str, dict[Any, Any]], Any] = Batch(self._add_all)

    @property
    def client(self) -> Redis:
        """The redis-py client, once started."""
        if self._client is None:
            raise Unavailable("the Redis broker is not started", reason="BROKER_STOPPED")
        return self._client

    async def start(self) -> None:
        """Connect and check the server answers.

        Raises:
            Unavailable: Redis is unreachable, naming ``messaging.url``'s host.
        """
        client = self._client = Redis.from_url(
            self.settings.url,
            socket_connect_timeout=self.settings.connect_timeout,
            client_name=self._consumer,
            health_check_interval=30,
        )
        await self._ping(client)

    async def stop(self) -> None:
        """Stop the consumers and close the connections."""
        for subscription in self._subscriptions:
            await subscription.stop()
        self._subscriptions.clear()
        client, self._client = self._client, None
        if client is not None:
            inboxes, self._inboxes = self._inboxes, []
            try:
                if inboxes:
                    await client.delete(*inboxes)
            except redis_errors.RedisError as exc:
                log.warning("deleting the reply streams failed", streams=inboxes, error=str(exc))
            finally:
                await client.aclose()

    async def check(self) -> Mapping[str, Any] | None:
        """PING the server.

        Raises:
            Unavailable: Redis does not answer.
        """
        await self._ping(self.client)
        return {"broker": "redis", "consumers": len(self._subscriptions)}

    async def publish(self, operation: OperationDefinition, message: OutgoingMessage) -> None:
        """XADD the message to the stream named by its address.

        Raises:
            Unavailable: Redis did not take it.
        """
        try:
            await self._adds.submit((message.address, _fields(message)))
        except redis_errors.RedisError as exc:
            raise self._unavailable(exc) from exc

    async def _add_all(self, entries: list[tuple[str, dict[Any, Any]]]) -> list[Any]:
        """XADD the entries published in one turn of the loop, pipelined: one
        write and one read for all, each entry's reply (or error) its own."""
        client = self.client
        if len(entries) == 1:
            stream, fields = entries[0]
            return [await client.xadd(stream, fields)]
        async with client.pipeline(transaction=False) as pipe:
            for stream, fields in entries:
                pipe.xadd(stream, fields)
            return await pipe.execute(raise_on_error=False)

    def queue(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """``<group>.<operation>``, also the stream's consumer group."""
        return queue_name(operation, group)

    def destination(self, operation: OperationDefinition, address: str) -> str:
        """The stream: the address."""
        return address

    def source(self, operation: OperationDefinition, *, group: str, address: str) -> str:
        """The stream and, after a space, its consumer group (the queue's name)."""
        return f"{address} {self.queue(operation, group=group, address=address)}"

    async def subscribe(
        self, operation: OperationDefinition, *, group: str, address: str, prefetch: int
    ) -> _RedisSubscription:
        """Create the group on the stream (from its start) if missing, and read it.

        Raises:
            ValueError: the address still has parameters: a stream is one
                name, so each needs a value in ``messaging.consumers``.
        """
        if "{" in address:
            raise ValueError(
                f"Redis Streams cannot consume the pattern {address!r}: set "
                f"messaging.consumers.{operation.name}.parameters for {list(operation.parameters)}"
            )
        queue = self.queue(operation, group=group, address=address)
        subscription = _RedisSubscription(
            self,
            stream=address,
            # The stream's consumer group is the queue's name: two operations of
            # one group reading one stream each get every entry, as on RabbitMQ.
            group=queue,
            consumer=self._consumer,
            dead_letters=dead_letter_name(queue, self.settings.dead_letter_suffix),
            prefetch=prefetch,
        )
        await subscription.create_group()
        self._subscriptions.append(subscription)
        return subscription

    async def inbox(self, operation: OperationDefinition, name: str) -> Inbox:
        """The stream ``name``, read by a group of its own, each reply deleted once read
        (the stream stays small); deleted when the broker stops."""
        subscription = _RedisSubscription(
            self,
            stream=name,
            group=name,
            consumer=self._consumer,
            dead_letters="",
            prefetch=1024,
            delete_acknowledged=True,
        )
        await subscription.create_group()
        self._subscriptions.append(subscription)
        self._inboxes.append(name)
        return Inbox(name, subscription)

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[OutgoingMessage]:
        """The oldest entries of ``<queue>.dlq``, left in the stream."""
        stream = dead_letter_name(queue, self.settings.dead_letter_suffix)
        entries: list[_Entry] = cast(Any, await self.client.xrange(stream, count=limit))
        return [_message(_text(fields, b"address") or "", fields) for _, fields in entries]

    async def replay_dead_letter(self, queue: str, message_id: str) -> bool:
        """Add the dead letter back to its stream and delete it from ``<queue>.dlq``, in one MULTI."""
        client = self.client
        stream = dead_letter_name(queue, self.settings.dead_letter_suffix)
        start = "-"
        while True:
            entries: list[_Entry] = cast(Any, await client.xrange(stream, min=start, count=_PAGE))
            for entry_id, fields in entries:
                if _text(fields, b"message_id") == message_id:
                    again = for_replay(_message(_text(fields, b"address") or "", fields), queue)
                    async with client.pipeline(transaction=True) as pipe:
                        pipe.xadd(again.address, _fields(again))
                        pipe.xdel(stream, entry_id)
                        await pipe.execute()
                    return True
            if len(entries) < _PAGE:
                return False
            start = f"({entries[-1][0].decode()}"

    async def dead_letter_count(self, queue: str) -> int | None:
        """XLEN of ``<queue>.dlq``."""
        return int(await self.client.xlen(dead_letter_name(queue, self.settings.dead_letter_suffix)))

    async def purge_dead_letters(self, queue: str) -> int:
        """Delete the stream ``<queue>.dlq``."""
        stream = dead_letter_name(queue, self.settings.dead_letter_suffix)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xlen(stream)
            pipe.delete(stream)
            count, _ = await pipe.execute()
        return int(count)

    async def _ping(self, client: Redis) -> None:
        try:
            await client.ping()
        except redis_errors.RedisError as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> Unavailable:
        kwargs = self.client.connection_pool.connection_kwargs if self._client is not None else {}
        where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        return Unavailable(f"Redis at {where} (messaging.url): {type(exc).__name__}: {exc}")


class _RedisSubscription:
    """One consumer of one stream in one group."""

    def __init__(
        self,
        broker: RedisBroker,
        *,
        stream: str,
        group: str,
        consumer: str,
        dead_letters: str,
        prefetch: int,
        delete_acknowledged: bool = False,
    ) -> None:
        self._broker = broker
        self._stream = stream
        self._group = group
        self._consumer = consumer
        self._dead_letters = dead_letters
        self._prefetch = prefetch
        self._delete = delete_acknowledged
        self._unsettled = 0
        self._streak = FailureStreak()
        self._room = asyncio.Event()
        self._room.set()
        self._stopped = False
        self._next_reclaim = 0.0
        self._acks: Batch[bytes, None] = Batch(self._ack_all)

    async def create_group(self) -> None:
        try:
            await self._broker.client.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._deliveries()

    async def lag(self) -> int | None:
        """The group's entries not yet delivered (XINFO GROUPS ``lag``) plus
        those delivered and not acknowledged (``pending``)."""
        groups: list[dict[str, Any]] = await self._broker.client.xinfo_groups(self._stream)
        for group in groups:
            name = group.get("name")
            if (name.decode() if isinstance(name, bytes) else name) == self._group:
                lag = group.get("lag")
                return int(group.get("pending") or 0) + (int(lag) if lag is not None else 0)
        return None

    async def stop(self) -> None:
        """Stop reading; entries read but not handed out stay pending, to be reclaimed."""
        self._stopped = True
        self._room.set()

    async def _deliveries(self) -> AsyncIterator[Delivery]:
        settings = self._broker.settings
        delay = settings.reconnect_backoff
        while not self._stopped:
            await self._room.wait()
            if self._stopped:
                return
            try:
                batch = await self._fetch(self._prefetch - self._unsettled)
            except redis_errors.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # The stream was deleted (or the server restarted empty).
                await self.create_group()
                continue
            except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
                if self._stopped:
                    return
                if self._streak.failed():  # said once; the reconnection says how many failed
                    log.warning(
                        "Redis connection lost; reconnecting",
                        stream=self._stream,
                        error=f"{type(exc).__name__}: {exc}",
                        retry_in=delay,
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.reconnect_backoff_max)
                continue
            ended = self._streak.ended()
            if ended is not None:
                log.info("Redis connection back", stream=self._stream, **ended)
            delay = settings.reconnect_backoff
            for entry_id, fields, count in batch:
                try:
                    delivery = self._deliver(entry_id, fields, count)
                except ValueError as exc:
                    await self._dead_letter_unreadable(entry_id, fields, count, exc)
                    continue
                yield delivery

    async def _fetch(self, count: int) -> Sequence[tuple[bytes, dict[bytes, bytes], int]]:
        client = self._broker.client
        now = time.monotonic()
        if now >= self._next_reclaim:
            self._next_reclaim = now + self._broker.settings.reclaim_idle / 2
            claimed = await self._reclaim(count)
            if claimed:
                return claimed
        block = max(1, min(_BLOCK_MS, int((self._next_reclaim - now) * 1000)))
        response = await client.xreadgroup(
            self._group, self._consumer, {self._stream: ">"}, count=count, block=block
        )
        entries: list[_Entry] = cast(Any, response)[0][1] if response else []
        return [(entry_id, fields, 1) for entry_id, fields in entries]

    async def _reclaim(self, count: int) -> list[tuple[bytes, dict[bytes, bytes], int]]:
        client = self._broker.client
        idle_ms = int(self._broker.settings.reclaim_idle * 1000)
        _, entries, _ = await client.xautoclaim(
            self._stream, self._group, self._consumer, idle_ms, "0-0", count=count
        )
        claimed = []
        for entry_id, fields in entries:
            if fields is None:  # deleted from the stream meanwhile
                continue
            pending = await client.xpending_range(
                self._stream, self._group, min=entry_id, max=entry_id, count=1
            )
            count_so_far = int(pending[0]["times_delivered"]) if pending else 2
            claimed.append((entry_id, fields, count_so_far))
        if claimed:
            log.info("reclaimed stuck messages", stream=self._stream, count=len(claimed))
        return claimed

    async def _dead_letter_unreadable(
        self, entry_id: bytes, fields: dict[bytes, bytes], count: int, failure: ValueError
    ) -> None:
        """Move an entry whose envelope cannot be read to the dead letters, as it came
        (its unreadable headers field kept as text), with the error; a handler never
        sees it, and it is not read again."""
        error = InvalidArgument(f"unreadable stream entry {entry_id.decode()}: {failure}")
        headers = dead_letter_headers(error, count, "poison", self._stream)
        headers["x-microlib-unreadable-headers"] = fields.get(b"headers", b"").decode(errors="replace")
        await self._move_to_dead_letters(
            entry_id, {**fields, b"headers": orjson.dumps(headers), b"address": self._stream}
        )
        log.warning(
            "unreadable stream entry dead-lettered",
            stream=self._stream,
            entry_id=entry_id.decode(),
            error=str(failure),
        )

    async def _move_to_dead_letters(self, entry_id: bytes, letter: dict[Any, Any]) -> None:
        """Add ``letter`` to the dead letters and acknowledge ``entry_id``, in one transaction."""
        async with self._broker.client.pipeline(transaction=True) as pipe:
            pipe.xadd(self._dead_letters, letter)
            pipe.xack(self._stream, self._group, entry_id)
            await pipe.execute()

    def _deliver(self, entry_id: bytes, fields: dict[bytes, bytes], count: int) -> Delivery:
        message = _message(self._stream, fields)
        self._unsettled += 1
        if self._unsettled >= self._prefetch:
            self._room.clear()

        async def ack() -> None:
            self._settled()
            await self._acks.send_at_once(entry_id)

        async def requeue() -> None:
            # Redis has no "give back": the entry stays pending and is
            # reclaimed once idle for messaging.reclaim_idle.
            self._settled()

        async def dead_letter(headers: Mapping[str, str]) -> None:
            self._settled()
            await self._move_to_dead_letters(entry_id, {**_fields(message, headers), "address": self._stream})

        return Delivery.of(
            message,
            on_ack=ack,
            on_requeue=requeue,
            on_dead_letter=dead_letter,
            delivery_count=count,
            redelivered=count > 1,
            broker_id=entry_id.decode(),
        )

    async def _ack_all(self, entry_ids: list[bytes]) -> list[None]:
        """XACK the entries whose handlers returned in one turn of the loop, in one command."""
        # The broker's client, not one captured earlier: after the broker
        # stopped, settling fails instead of opening a new connection.
        client = self._broker.client
        if self._delete:
            async with client.pipeline(transaction=True) as pipe:
                pipe.xack(self._stream, self._group, *entry_ids)
                pipe.xdel(self._stream, *entry_ids)
                await pipe.execute()
        else:
            await client.xack(self._stream, self._group, *entry_ids)
        return [None] * len(entry_ids)

    def _settled(self) -> None:
        self._unsettled -= 1
        self._room.set()
