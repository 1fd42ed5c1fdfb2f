"""uvicorn's HTTP/1.1 protocol with bounds on how a request's head arrives.

uvicorn bounds an idle keep-alive connection, but not one that is sending a
request's head: a client trickling a header byte at a time (slowloris) held
a connection, and a worker's memory, for as long as it liked, and httptools
buffers a head of any size. This subclass closes a connection whose request
head takes longer than ``header_timeout`` (after a ``408``), and refuses a
head larger than ``max_header_bytes``.

With mutual TLS, :class:`ClientCertificateProtocol` adds the ASGI TLS
extension (the verified client certificate) to each request's scope.

:func:`websocket_protocol` is uvicorn's ``ws="auto"`` protocol, imported at
the first WebSocket upgrade rather than at start: importing it (and the
``websockets`` library) was 40M instructions of every service's start, most
of which never upgrade a connection.

This is the one module that subclasses uvicorn's protocol: it overrides
uvicorn's httptools parser callbacks (``on_message_begin``, ``on_url``,
``on_header``, ``on_headers_complete``) and ``connection_made``, which are
not a public API. uvicorn is pinned (``<0.55`` in pyproject.toml, the exact
version in ``requirements/constraints.txt``); ``tests/hostile/test_wire.py``
fails if the callbacks drift (a slow or oversized head is no longer cut
off) and ``tests/http/test_tls.py`` if the TLS extension stops arriving.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from microlib.core.tls import subject_of

__all__ = ["ClientCertificateProtocol", "GuardedProtocol", "guarded", "websocket_protocol"]

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class GuardedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a time and size bound on each request head."""

    header_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024
    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes: int = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A connection that opens and sends nothing is a head that never arrives.
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_head()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:
            self._start_head()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._end_head()
        super().on_headers_complete()

    def _start_head(self) -> None:
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _end_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_header_bytes:
            # uvicorn answers a parser error with 400 and closes the connection.
            raise httptools.HttpParserError(f"request head larger than {self.max_header_bytes} bytes")

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


def guarded(
    base: type[GuardedProtocol], *, header_timeout: float, max_header_bytes: int
) -> type[GuardedProtocol]:
    """``base`` with these bounds (uvicorn builds the protocol from a class)."""
    return type(
        base.__name__,
        (base,),
        {"header_timeout": header_timeout, "max_header_bytes": max_header_bytes},
    )


class ClientCertificateProtocol(GuardedProtocol):
    """uvicorn's HTTP/1.1 protocol, adding the ASGI TLS extension to each request.

    The extension carries the client certificate the handshake verified
    (``client_cert_chain``, ``client_cert_name``); it is left out on a
    connection without one.
    """

    _tls: dict[object, object] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
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
