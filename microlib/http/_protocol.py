"""uvicorn's HTTP/1.1 protocol with bounds on how a request's head arrives.

uvicorn bounds an idle keep-alive connection, but not one that is sending a
request's head: a client trickling a header byte at a time (slowloris) held
a connection, and a worker's memory, for as long as it liked, and httptools
buffers a head of any size. This subclass closes a connection whose request
head takes longer than ``header_timeout`` (after a ``408``), and refuses a
head larger than ``max_header_bytes``.

uvicorn writes a response's head as soon as the application starts it,
and its body when it comes: two system calls, and two TCP segments, for
every response. The protocol sends its writes through
:class:`_JoinedWrites`, which holds a write back until the next one or the
end of the loop's turn, whichever comes first: a response whose body
follows its head in the same turn (nearly every one) goes out in one
``writelines``, as Go's ``net/http`` and nginx send a small response.

With mutual TLS, :class:`ClientCertificateProtocol` adds the ASGI TLS
extension (the verified client certificate) to each request's scope.

:func:`websocket_protocol` is uvicorn's ``ws="auto"`` protocol, imported at
the first WebSocket upgrade rather than at start: importing it (and the
``websockets`` library) was 40M instructions of every service's start, most
of which never upgrade a connection.

This is the one module that subclasses uvicorn's protocol: it hands it a
transport of its own in ``connection_made`` (uvicorn calls its ``write``,
``writelines``, ``close``, ``is_closing``, ``pause_reading``,
``resume_reading``, ``get_extra_info`` and ``set_protocol``), overrides
``data_received``, ``data_received`` and the httptools parser callbacks
``on_message_begin`` and ``on_headers_complete``, reads the ``url`` and
``headers`` the parser callbacks gathered, and answers with
``send_400_response``, none of which is a public API. uvicorn is pinned
(``<0.55`` in pyproject.toml, the exact version in
``requirements/constraints.txt``); ``tests/hostile/test_wire.py`` and
``tests/http/test_protocol.py`` fail if these drift (a slow or oversized
head is no longer cut off) and ``tests/http/test_tls.py`` if the TLS
extension stops arriving.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import ssl
from collections.abc import Collection, Iterable
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from microlib.core.tls import subject_of

__all__ = [
    "ClientCertificateProtocol",
    "GuardedProtocol",
    "cut_off_slow_heads",
    "guarded",
    "websocket_protocol",
]

# uvicorn's methods the bounds extend, called as plain functions: per request, a module
# global costs less than ``super()`` (an object and an MRO search) or a class attribute.
_data_received = HttpToolsProtocol.data_received
_on_message_begin = HttpToolsProtocol.on_message_begin
_on_headers_complete = HttpToolsProtocol.on_headers_complete

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class GuardedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a time and size bound on each request head.

    A request pays these bounds a few attribute writes. The head's size is
    bounded by the size of the chunks it arrived in, and summed exactly from
    what the parser took (the URL, each header's name and value) only when
    those chunks could hold more than ``max_header_bytes``; its time is
    checked every so often by :func:`cut_off_slow_heads`. (A timer set and
    cancelled per request, and a Python call per header, were 7% of a
    served request's instructions.)

    The bounds keep their state in slots, not in the instance's ``__dict__``:
    uvicorn's protocol keeps 28 attributes there, and CPython shares one
    compact layout of instance dicts among a class's instances only up to 30
    keys. Five more made every connection's dict an ordinary one, and each
    attribute read and write of uvicorn's protocol a slower lookup. The three
    methods called per request call uvicorn's as plain functions rather than
    through ``super()``, which builds an object and searches the MRO on each
    call on this interpreter. (Both were 5.8k of the bounds' 9.1k instructions
    a request, counted through this protocol alone.)
    """

    __slots__ = ("_chunk_bytes", "_first_chunk", "_head_bytes", "_head_since", "_heads")

    header_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024
    # When the head now arriving began (the loop's clock); None between heads.
    _head_since: float | None
    # Bytes of the chunks wholly taken by the head now arriving; the size of
    # the chunk it began in, when it began after another request's bytes;
    # the size of the chunk being parsed; heads completed on the connection.
    _head_bytes: int
    _first_chunk: int
    _chunk_bytes: int
    _heads: int

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # Set before the server counts the connection, as cut_off_slow_heads reads them from then on.
        # A connection that opens and sends nothing is a head that never arrives.
        self._head_since = self.loop.time()
        self._head_bytes = self._first_chunk = self._chunk_bytes = self._heads = 0
        super().connection_made(_JoinedWrites(transport, self.loop))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        continued = self._head_since is not None
        heads = self._heads
        self._chunk_bytes = len(data)
        _data_received(self, data)
        if self._head_since is None:
            return
        if not continued or heads != self._heads:
            self._first_chunk = len(data)  # the head began in this chunk, after other bytes
        else:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._head_since = None
                self.send_400_response("Invalid HTTP request received.")

    def on_message_begin(self) -> None:
        _on_message_begin(self)
        if self._head_since is None:
            self._head_since = self.loop.time()

    def on_headers_complete(self) -> None:
        if self._head_bytes + self._first_chunk + self._chunk_bytes > self.max_header_bytes:
            # Its chunks could hold more than the bound: count what the head holds.
            size = len(self.url) + sum(len(name) + len(value) for name, value in self.headers)
            if size > self.max_header_bytes:
                # uvicorn answers a parser error with 400 and closes the connection.
                raise httptools.HttpParserError(f"request head larger than {self.max_header_bytes} bytes")
        self._head_since = None
        self._head_bytes = self._first_chunk = 0
        self._heads += 1
        _on_headers_complete(self)

    def head_overdue(self, now: float) -> bool:
        """Whether the head now arriving began more than ``header_timeout`` before ``now``."""
        return self._head_since is not None and now - self._head_since > self.header_timeout

    def time_out_head(self) -> None:
        """Answer ``408`` and close: the head did not arrive in time."""
        self._head_since = None
        if not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


class _JoinedWrites:
    """A transport that joins each write with the next one made in the same turn of the loop.

    A write is held until the next write, which sends both in one
    ``writelines`` (one system call, no copy, on uvloop), or until the loop's
    next turn, which sends it alone: a head whose body comes later (a
    stream, an ``Expect: 100-continue``) is not delayed past the turn it was
    written in. Everything that ends or hands over the connection sends
    what is held first, so bytes keep their order.
    """

    __slots__ = (
        "_held",
        "_release_soon",
        "_transport",
        "get_extra_info",
        "is_closing",
        "pause_reading",
        "resume_reading",
    )

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._held: bytes | None = None
        release = self._release
        self._release_soon = functools.partial(loop.call_soon, release)
        # Bound once: what uvicorn calls per request, without a call through this class.
        self.is_closing = transport.is_closing
        self.get_extra_info = transport.get_extra_info
        self.pause_reading = transport.pause_reading
        self.resume_reading = transport.resume_reading

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data) if type(data) is not bytes else data
            self._release_soon()
        else:
            self._held = None
            self._transport.writelines((held, data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self._release()
        self._transport.writelines(list_of_data)

    def write_eof(self) -> None:
        self._release()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def close(self) -> None:
        self._release()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        # An upgrade: the WebSocket protocol writes through this transport too.
        self._release()
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + (0 if self._held is None else len(self._held))

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def _release(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            # A connection the peer closed meanwhile has nothing to send to.
            if not self._transport.is_closing():
                self._transport.write(held)


async def cut_off_slow_heads(connections: Collection[object], header_timeout: float) -> None:
    """Every so often, answer ``408`` to each connection whose request head is overdue.

    A head is cut off between ``header_timeout`` and a quarter of it (at most
    a second) later. Runs until cancelled.
    """
    loop = asyncio.get_running_loop()
    every = min(1.0, header_timeout / 4)
    while True:
        await asyncio.sleep(every)
        now = loop.time()
        for connection in [c for c in connections if isinstance(c, GuardedProtocol)]:
            if connection.head_overdue(now):
                connection.time_out_head()


def guarded(
    base: type[GuardedProtocol], *, header_timeout: float, max_header_bytes: int
) -> type[GuardedProtocol]:
    """``base`` with these bounds (uvicorn builds the protocol from a class)."""
    return type(
        base.__name__,
        (base,),
        {"__slots__": (), "header_timeout": header_timeout, "max_header_bytes": max_header_bytes},
    )


class ClientCertificateProtocol(GuardedProtocol):
    """uvicorn's HTTP/1.1 protocol, adding the ASGI TLS extension to each request.

    The extension carries the client certificate the handshake verified
    (``client_cert_chain``, ``client_cert_name``); it is left out on a
    connection without one.
    """

    __slots__ = ("_tls",)

    _tls: dict[object, object] | None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._tls = None
        super().connection_made(transport)
        # asyncio calls this once the handshake, and so the verification, is done.
        der = transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
        if der:
            pem = ssl.DER_cert_to_PEM_cert(der)
            self._tls = {
                "server_cert": None,
                "client_cert_chain": [pem],
                "client_cert_name": subject_of(pem),
                "client_cert_error": None,
                "tls_version": None,
                "cipher_suite": None,
            }

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls is not None:
            self.scope["extensions"] = {"tls": self._tls}


def websocket_protocol() -> type[asyncio.Protocol] | str:
    """uvicorn's ``ws`` option: its ``"auto"`` protocol, imported at the first upgrade.

    ``"none"`` when neither WebSocket library is installed, as ``"auto"``
    then finds no protocol either (uvicorn answers an upgrade request as
    plain HTTP and warns).
    """
    if importlib.util.find_spec("websockets") is None and importlib.util.find_spec("wsproto") is None:
        return "none"
    return _FirstUpgrade


class _FirstUpgrade(asyncio.Protocol):
    """Builds uvicorn's ``"auto"`` WebSocket protocol; uvicorn makes one per
    upgraded connection, with keyword arguments."""

    def __new__(cls, **options: Any) -> asyncio.Protocol:  # type: ignore[misc]
        from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

        assert AutoWebSocketsProtocol is not None, "websocket_protocol() found a WebSocket library"
        return AutoWebSocketsProtocol(**options)
