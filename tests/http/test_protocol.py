"""The bounds on a request head, read by read: a head is refused by its own size
(its URL, header names and values), however its bytes and those of the requests
around it were split into the reads the server made; and a request the drain
cancels ends without a traceback, answered 503 if nothing was sent yet.

The protocol is served on a real socket; each test hands it its reads
(``data_received``) with the boundaries the case needs, which a client on
loopback cannot choose."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from microlib.config.model import HttpSettings
from microlib.core.lifecycle import DrainExpired
from microlib.http._protocol import GuardedProtocol, guarded
from microlib.http.server import HttpServer

LIMIT = 1024


async def echo_size(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers 200 with the size of the request's body."""
    size = 0
    more = True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Connection:
    """A served connection whose reads the test makes."""

    def __init__(self, protocol: HttpToolsProtocol, client: socket.socket) -> None:
        self.protocol = protocol
        self.client = client

    def read(self, data: bytes) -> None:
        """The server reads ``data`` from the connection, in one read."""
        self.protocol.data_received(data)

    async def answers(self) -> bytes:
        """What the server sent, until it closes the connection or pauses for 0.3 s."""
        loop = asyncio.get_running_loop()
        answer = b""
        while True:
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(self.client, 65536), 0.3)
            except TimeoutError:
                return answer
            if not chunk:
                return answer
            answer += chunk


@pytest.fixture
async def connection() -> AsyncIterator[Connection]:
    async with _connection(guarded(GuardedProtocol, header_timeout=10.0, max_header_bytes=LIMIT)) as served:
        yield served


@contextlib.asynccontextmanager
async def _connection(
    protocol_class: type[HttpToolsProtocol], app: ASGIApp = echo_size
) -> AsyncIterator[Connection]:
    config = uvicorn.Config(app, lifespan="off", log_config=None)
    config.load()
    state = ServerState()
    served, client = socket.socketpair()
    client.setblocking(False)
    loop = asyncio.get_running_loop()
    _, protocol = await loop.connect_accepted_socket(
        lambda: protocol_class(config=config, server_state=state, app_state={}), served
    )
    yield Connection(protocol, client)
    protocol.transport.close()
    client.close()
    for task in state.tasks:
        task.cancel()


def head(size: int, *, path: bytes = b"/") -> bytes:
    """A GET whose head holds ``size`` bytes (URL, header names and values)."""
    fixed = len(path) + len(b"host") + len(b"x") + len(b"x-pad")
    return b"GET " + path + b" HTTP/1.1\r\nhost: x\r\nx-pad: " + b"a" * (size - fixed) + b"\r\n\r\n"


def post(body: bytes) -> bytes:
    return b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def statuses(answer: bytes) -> list[int]:
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


async def test_a_head_of_the_bound_is_served_one_byte_more_is_refused(connection: Connection) -> None:
    connection.read(head(LIMIT))
    assert statuses(await connection.answers()) == [200]
    connection.read(head(LIMIT + 1))
    assert statuses(await connection.answers()) == [400]


async def test_a_head_over_the_bound_in_several_reads_is_refused(connection: Connection) -> None:
    data = head(LIMIT + 1)
    for at in range(0, len(data), 300):
        connection.read(data[at : at + 300])
    assert statuses(await connection.answers()) == [400]


async def test_a_head_still_arriving_past_the_bound_is_refused_before_it_ends(connection: Connection) -> None:
    """Its reads alone are over the bound: refused without waiting for its end."""
    connection.read(b"GET / HTTP/1.1\r\nhost: x\r\nx-pad: " + b"a" * 600)
    connection.read(b"a" * 600)
    assert statuses(await connection.answers()) == [400]


async def test_a_body_read_with_the_next_head_does_not_count_as_head(connection: Connection) -> None:
    """Pipelined: a large body and the start of the next request share a read;
    the body's bytes are not the next head's."""
    second = head(LIMIT - 10)
    connection.read(post(b"b" * 3 * LIMIT) + second[:40])
    connection.read(second[40:])
    assert statuses(await connection.answers()) == [200, 200]


# uvicorn answers a refused head at once and closes the connection, so a request
# pipelined before it may go unanswered: only the last answer is the refused head's.


async def test_a_head_begun_after_a_body_and_over_the_bound_is_refused(connection: Connection) -> None:
    """The head's first bytes came in the read that ended the body before it."""
    second = head(LIMIT + 200)
    connection.read(post(b"b" * 100) + second[: LIMIT // 2])
    connection.read(second[LIMIT // 2 :])
    assert statuses(await connection.answers())[-1] == 400


async def test_a_second_head_in_one_read_is_held_to_the_bound(connection: Connection) -> None:
    connection.read(head(100) + head(LIMIT + 1))
    assert statuses(await connection.answers())[-1] == 400


async def test_the_bounds_leave_the_connections_attributes_as_uvicorns(connection: Connection) -> None:
    """The bounds keep their state out of the connection's ``__dict__``: with more keys
    than uvicorn's own protocol has, CPython gives up the compact layout it shares
    among instances, and every attribute uvicorn's protocol reads or writes per
    request gets slower."""
    async with _connection(HttpToolsProtocol) as plain:
        for served in (connection, plain):
            served.read(post(b"b" * 10))
            assert statuses(await served.answers()) == [200]
        assert vars(connection.protocol).keys() == vars(plain.protocol).keys()


class SendCounter:
    """The socket's transport, counting the sends (``write``, ``writelines``) made on it."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.sends = 0

    def write(self, data: bytes) -> None:
        self.sends += 1
        self.transport.write(data)

    def writelines(self, list_of_data: list[bytes]) -> None:
        self.sends += 1
        self.transport.writelines(list_of_data)

    def __getattr__(self, name: str) -> object:
        return getattr(self.transport, name)


class CountedProtocol(GuardedProtocol):
    """The guarded protocol on a transport that counts its sends."""

    counter: SendCounter

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.counter = SendCounter(transport)
        super().connection_made(self.counter)  # type: ignore[arg-type]


async def test_a_response_goes_out_in_one_send() -> None:
    """uvicorn writes a head when the application starts its response and the
    body when it sends it: two system calls and two TCP segments, joined here."""
    async with _connection(CountedProtocol) as served:
        served.read(post(b"b" * 10) + post(b"c" * 20))
        answer = await served.answers()
        assert statuses(answer) == [200, 200]
        assert answer.count(b"\r\n\r\n10") == 1
        assert answer.endswith(b"\r\n\r\n20")
        assert isinstance(served.protocol, CountedProtocol)
        assert served.protocol.counter.sends == 2


async def test_a_head_whose_body_comes_later_is_not_held_for_it() -> None:
    """A held write goes out at the loop's next turn: a client sees a stream's head
    (or an event stream's) as soon as the application starts it."""
    body_may_go = asyncio.Event()

    async def head_then_body(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await body_may_go.wait()
        await send({"type": "http.response.body", "body": b"ok"})

    async with _connection(
        guarded(GuardedProtocol, header_timeout=10.0, max_header_bytes=LIMIT), head_then_body
    ) as served:
        served.read(head(100))
        head_only = await served.answers()
        assert statuses(head_only) == [200]
        assert head_only.endswith(b"\r\n\r\n")
        body_may_go.set()
        assert await served.answers() == b"ok"


async def test_a_head_request_gets_its_head_though_no_body_follows(connection: Connection) -> None:
    """uvicorn writes no body for ``HEAD``: the held head goes out alone, at the loop's next turn."""
    connection.read(b"HEAD / HTTP/1.1\r\nhost: x\r\n\r\n")
    answer = await connection.answers()
    assert statuses(answer) == [200]
    assert answer.endswith(b"content-length: 1\r\n\r\n")


async def test_an_expected_100_continue_is_sent_before_the_body_arrives(connection: Connection) -> None:
    """The client waits for ``100 Continue`` before it sends the body: that
    write, alone in its turn of the loop, is not held for the next one."""
    connection.read(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n")
    assert await connection.answers() == b"HTTP/1.1 100 Continue\r\n\r\n"
    connection.read(b"ab")
    answer = await connection.answers()
    assert statuses(answer) == [200]
    assert answer.endswith(b"\r\n\r\n2")


async def test_a_stalled_head_is_answered_408_by_the_sweep() -> None:
    """No timer per request: the server's sweep cuts off a head past ``http.header_timeout``."""
    server = HttpServer(echo_size, HttpSettings(host="127.0.0.1", port=0, header_timeout=0.2))
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n")
        answer = await asyncio.wait_for(reader.read(), 10)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        writer.close()
    finally:
        await server.stop()


async def slow(scope: Scope, receive: Receive, send: Send) -> None:
    """Sends nothing for a minute."""
    await asyncio.sleep(60)


async def slow_body(scope: Scope, receive: Receive, send: Send) -> None:
    """Starts its response, then takes a minute over the body."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"o", "more_body": True})
    await asyncio.sleep(60)


@pytest.mark.parametrize(
    ("app", "status"), [(slow, b"503"), (slow_body, b"200")], ids=["unanswered", "begun"]
)
async def test_a_request_outliving_the_drain_ends_quietly(
    app: object, status: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Unanswered, it gets a 503 with Retry-After; begun, it keeps its status and
    nothing more is sent; either way without the traceback of an application error."""
    server = HttpServer(app, HttpSettings(host="127.0.0.1", port=0))  # type: ignore[arg-type]
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(0.2)
    with caplog.at_level(logging.ERROR), pytest.raises(DrainExpired):
        await server.drain(timeout=0.1)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    await server.stop()
    assert answer.split(b" ")[1] == status, answer
    assert (b"retry-after: 1" in answer.lower()) == (status == b"503")
    assert answer.count(b"HTTP/1.1") == 1
    assert not [r for r in caplog.records if r.exc_info], caplog.records
