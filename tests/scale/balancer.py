"""A round-robin TCP load balancer for replicas on one machine.

It balances *connections*, as a Kubernetes Service (kube-proxy) does: each
accepted connection goes to the next ready replica and stays there for its
whole life. HTTP/1.1 and gRPC's HTTP/2 are just bytes to it. So a client's
keep-alive HTTP connection, and a gRPC channel's one HTTP/2 connection, keep
talking to one replica; they move only when that replica closes them (an
HTTP response with ``Connection: close``, an idle connection closed, a gRPC
GOAWAY when the server drains) and the client connects again.

Which replicas are ready it learns as an endpoints controller or a load
balancer's health check does: by asking each replica's ``/health/ready``
every ``interval`` seconds. A replica that fails it gets no new connections;
connections it already has are left alone. With no ready replica a new
connection is closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import Callable

import httpx

from tests.scale.replica import Replica


class Endpoints:
    """The replicas behind a Service and which of them are ready."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.replicas: list[Replica] = []
        self.ready: list[Replica] = []
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()  # notified after each round of probes
        self._client = httpx.AsyncClient(timeout=1)

    def add(self, replica: Replica) -> None:
        self.replicas.append(replica)

    def remove(self, replica: Replica) -> None:
        self.replicas.remove(replica)
        if replica in self.ready:
            self.ready.remove(replica)

    async def wait_ready(self, replica: Replica, timeout: float = 120) -> None:
        """Until the balancer sends new connections to ``replica``."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: replica in self.ready or not replica.running())
        assert replica in self.ready, replica.output()

    async def wait_not_ready(self, replica: Replica, timeout: float = 60) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: replica not in self.ready)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._probe())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _probe(self) -> None:
        while True:
            probed = list(self.replicas)
            up = await asyncio.gather(*(self._is_ready(r) for r in probed))
            self.ready = [r for r, ready in zip(probed, up, strict=True) if ready and r in self.replicas]
            async with self._changed:
                self._changed.notify_all()
            await asyncio.sleep(self.interval)

    async def _is_ready(self, replica: Replica) -> bool:
        try:
            return (await self._client.get(f"{replica.url}/health/ready")).status_code == 200
        except httpx.TransportError:
            return False


class Balancer:
    """Listens on a loopback port and forwards each connection to a ready replica.

    Args:
        endpoints: The replicas and their readiness.
        port_of: Which of a replica's ports this balancer forwards to.
    """

    def __init__(self, endpoints: Endpoints, port_of: Callable[[Replica], int]) -> None:
        self.endpoints = endpoints
        self.port_of = port_of
        self.port = 0
        self.connections: Counter[str] = Counter()  # by replica name
        self.refused = 0  # connections that found no ready replica
        self._turn = itertools.count()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every connection, whatever state it is in."""
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The handler itself is tracked, not only its pumps: ``stop`` may come
        # while it is still connecting upstream, and the accepted socket must
        # be closed then too (an unclosed socket is a ResourceWarning).
        handler = asyncio.current_task()
        assert handler is not None
        self._tasks.add(handler)
        writers = [writer]
        try:
            replica = self._pick()
            if replica is None:
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port_of(replica))
            except OSError:
                self.refused += 1
                return
            writers.append(up_writer)
            self.connections[replica.name] += 1
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer), return_exceptions=True)
        finally:
            self._tasks.discard(handler)
            for w in writers:
                w.transport.abort()

    def _pick(self) -> Replica | None:
        ready = list(self.endpoints.ready)
        if not ready:
            self.refused += 1
            return None
        return ready[next(self._turn) % len(ready)]


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the end on (a half-close), as TCP would.

    A reset on either side resets the other: the peer sees what it would
    have seen without the balancer.
    """
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.transport.abort()
