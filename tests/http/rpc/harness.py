"""The Library contract served by transcoded routes on a real uvicorn server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from microlib.core.chain import Chain, Interceptor
from microlib.http.app import HttpApp
from microlib.http.transcoding import TranscodingSettings, add_transcoded_routes
from tests.http.rpc.servicer import Library


@dataclass
class Served:
    """A running server: its base URL, the servicer and the app."""

    url: str
    library: Library
    http: HttpApp


def library_app(
    *interceptors: Interceptor, settings: TranscodingSettings | None = None
) -> tuple[HttpApp, Library]:
    """An HttpApp serving a fresh Library through ``interceptors``."""
    library = Library()
    chain = Chain(list(interceptors))
    http = HttpApp(chain)
    add_transcoded_routes(
        http, Library.__microlib_service__, library, chain, settings or TranscodingSettings()
    )
    return http, library


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` on uvicorn at 127.0.0.1:<ephemeral>; yield its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start in time"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
