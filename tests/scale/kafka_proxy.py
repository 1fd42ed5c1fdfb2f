"""A Kafka protocol proxy in front of noida-db that answers group errors as Kafka does.

noida-db 0.2.3 (the test broker) bumps a group's generation when a rebalance
*starts*; Kafka bumps it when the rebalance *completes*. So a member that
commits, heartbeats or syncs in between, with the generation it was given,
gets ILLEGAL_GENERATION from noida-db where Kafka answers REBALANCE_IN_PROGRESS
(or takes the commit). aiokafka treats ILLEGAL_GENERATION as "you are a
zombie": it drops its member id and joins as a new member. The abandoned id
stays in the group for good, because noida-db checks a member's session
timeout only on that member's own heartbeat and has no rebalance timeout, so
the group waits for it forever and every consumer stalls. A rolling restart
of a consumer group commits during every rebalance, so it always hits this.

The proxy relays every request untouched. In the responses it changes two
things: error 22 (ILLEGAL_GENERATION) becomes 27 (REBALANCE_IN_PROGRESS) in
OffsetCommit, Heartbeat and SyncGroup answers, so the member rejoins with its
own id (as against Kafka), as does a SyncGroup answer with no error and no
assignment bytes (noida-db's to a member the leader's assignment left out);
and the broker port in Metadata and FindCoordinator answers becomes the
proxy's, so clients keep talking through it. A member the group really
removed still gets UNKNOWN_MEMBER_ID (25), which is not touched.

Only the non-flexible versions aiokafka sends are parsed; any other version of
those five requests closes the connection, so a client upgrade fails loudly
instead of bypassing the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

METADATA, FIND_COORDINATOR, OFFSET_COMMIT, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 3, 10, 8, 12, 13, 14
ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS = 22, 27
GROUP_REQUESTS = {OFFSET_COMMIT: "commit", HEARTBEAT: "heartbeat", SYNC_GROUP: "sync"}
FIRST_FLEXIBLE = {METADATA: 9, FIND_COORDINATOR: 3, OFFSET_COMMIT: 8, HEARTBEAT: 4, SYNC_GROUP: 4}
"""From these versions on the wire format changes (compact fields): not parsed here."""


class UnsupportedVersion(Exception):
    """A response this proxy would have to rewrite, in a format it does not parse."""


class _Reader:
    """Walks a response body, keeping the position of each field read."""

    def __init__(self, body: bytearray, at: int = 0) -> None:
        self.body = body
        self.at = at

    def int16(self) -> int:
        (value,) = struct.unpack_from(">h", self.body, self.at)
        self.at += 2
        return int(value)

    def int32(self) -> int:
        (value,) = struct.unpack_from(">i", self.body, self.at)
        self.at += 4
        return int(value)

    def string(self) -> None:
        length = self.int16()
        self.at += max(length, 0)  # -1: null

    def patch16(self, old: int, new: int) -> bool:
        """Read an int16; if it is ``old``, write ``new`` there."""
        where = self.at
        if self.int16() == old:
            struct.pack_into(">h", self.body, where, new)
            return True
        return False

    def patch32(self, old: int, new: int) -> None:
        where = self.at
        if self.int32() == old:
            struct.pack_into(">i", self.body, where, new)


def _broker_ports(body: bytearray, api_key: int, version: int, old: int, new: int) -> None:
    """Advertise ``new`` where the broker says ``old`` (Metadata, FindCoordinator)."""
    read = _Reader(body)
    if api_key == METADATA:
        if version >= 3:
            read.int32()  # throttle_time_ms
        for _ in range(read.int32()):
            read.int32()  # node_id
            read.string()  # host
            read.patch32(old, new)
            if version >= 1:
                read.string()  # rack
    else:
        if version >= 1:
            read.int32()  # throttle_time_ms
        read.int16()  # error_code
        if version >= 1:
            read.string()  # error_message
        read.int32()  # node_id
        read.string()  # host
        read.patch32(old, new)


def _group_errors(body: bytearray, api_key: int, version: int) -> int:
    """Turn ILLEGAL_GENERATION, and a SyncGroup answer without an assignment, into
    REBALANCE_IN_PROGRESS; how many were turned."""
    read = _Reader(body)
    throttled = version >= (3 if api_key == OFFSET_COMMIT else 1)
    if throttled:
        read.int32()  # throttle_time_ms
    if api_key == SYNC_GROUP:
        where = read.at
        if read.int16() == 0 and read.int32() == 0:
            # No error and zero assignment bytes, which aiokafka cannot decode: noida-db's answer to
            # a member the leader's assignment left out (it joined after the leader computed it).
            # Kafka's generation would have moved on, so the member rejoins.
            struct.pack_into(">h", body, where, REBALANCE_IN_PROGRESS)
            return 1
        read.at = where
    if api_key != OFFSET_COMMIT:
        return int(read.patch16(ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS))
    turned = 0
    for _ in range(read.int32()):
        read.string()  # topic
        for _ in range(read.int32()):
            read.int32()  # partition
            turned += read.patch16(ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS)
    return turned


async def _frame(reader: asyncio.StreamReader) -> bytearray:
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    return bytearray(await reader.readexactly(size))


@dataclass
class KafkaProxy:
    """Listens on a free loopback port and relays to ``upstream`` (``host:port``).

    Runs its own event loop on a thread, so subprocesses and the test's loop
    can both use it; ``rewritten`` counts the errors it turned, by request.
    Requests whose API key is in ``held`` are neither relayed nor answered (a
    broker stuck on them; ``held_requests`` counts them); ``clients`` counts the
    client connections open.
    """

    upstream: str
    port: int = 0
    held: frozenset[int] = frozenset()
    held_requests: int = 0
    clients: int = 0
    rewritten: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> KafkaProxy:
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="kafka-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop.close()

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.clients += 1
        try:
            await self._relay_connection(client_r, client_w)
        finally:
            self.clients -= 1

    async def _relay_connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        host, _, port = self.upstream.rpartition(":")
        upstream_r, upstream_w = await asyncio.open_connection(host, int(port))
        asked: dict[int, tuple[int, int]] = {}  # correlation id -> (api key, version)
        relays = [
            asyncio.ensure_future(self._relay(client_r, upstream_w, lambda f: self._request(f, asked))),
            asyncio.ensure_future(self._relay(upstream_r, client_w, lambda f: self._response(f, asked))),
        ]
        try:
            await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for relay in relays:
                relay.cancel()
            for writer in (client_w, upstream_w):
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

    @staticmethod
    async def _relay(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, change: Callable[[bytearray], bool]
    ) -> None:
        try:
            while True:
                frame = await _frame(reader)
                if not change(frame):
                    continue
                writer.write(struct.pack(">i", len(frame)) + frame)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, UnsupportedVersion):
            return

    def _request(self, frame: bytearray, asked: dict[int, tuple[int, int]]) -> bool:
        """Note what is asked; False: hold the request."""
        api_key, version, correlation = struct.unpack_from(">hhi", frame)
        if api_key in self.held:
            self.held_requests += 1
            return False
        if version >= FIRST_FLEXIBLE.get(api_key, 1 << 15):
            self.refused.append(f"api {api_key} v{version}")
            raise UnsupportedVersion(self.refused[-1])
        asked[correlation] = (api_key, version)
        return True

    def _response(self, frame: bytearray, asked: dict[int, tuple[int, int]]) -> bool:
        (correlation,) = struct.unpack_from(">i", frame)
        api_key, version = asked.pop(correlation)
        if api_key in (METADATA, FIND_COORDINATOR):
            upstream_port = int(self.upstream.rpartition(":")[2])
            patched = frame[4:]
            _broker_ports(patched, api_key, version, upstream_port, self.port)
            frame[4:] = patched
        elif api_key in GROUP_REQUESTS:
            patched = frame[4:]
            turned = _group_errors(patched, api_key, version)
            if turned:
                frame[4:] = patched
                self.rewritten[GROUP_REQUESTS[api_key]] += turned
        return True
