"""Fixtures: the two test documents served by OpenAPIApp over httpx's ASGI transport."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from microlib.core.chain import CallNext
from microlib.core.context import CallContext
from microlib.http.openapi import OpenAPIApp
from tests.http.apps.library import Books, Loans
from tests.http.apps.store import Pets, Store
from tests.http.gen.library30 import operations as library_ops
from tests.http.gen.store31 import operations as store_ops


@dataclass
class Recorder:
    """An interceptor that keeps every context it sees and the outcome."""

    seen: list[CallContext] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Record ``ctx``, run the call, record ok or the error's code."""
        self.seen.append(ctx)
        try:
            result = await call_next(ctx)
        except Exception as exc:
            self.outcomes.append(getattr(getattr(exc, "code", None), "name", type(exc).__name__))
            raise
        self.outcomes.append("OK")
        return result


@dataclass
class StoreHarness:
    """The Pet Store app, its handlers, its recorder and a client."""

    app: OpenAPIApp
    pets: Pets
    store: Store
    recorder: Recorder
    client: httpx.AsyncClient


def store_app(*, strict: bool = True, validate_responses: bool = True, **handlers: object) -> OpenAPIApp:
    """The Pet Store API with fresh handlers (overridable by tag)."""
    recorder = Recorder()
    targets = {"pets": Pets(), "store": Store(), **handlers}
    return OpenAPIApp(
        store_ops.OPERATIONS,
        targets,
        chain=[recorder],
        title=store_ops.TITLE,
        strict=strict,
        validate_responses=validate_responses,
        spec_path=store_ops.SPEC_PATH,
    )


@pytest.fixture
async def store() -> AsyncIterator[StoreHarness]:
    """The Pet Store API (strict, response validation on) over ASGI."""
    recorder = Recorder()
    pets, shop = Pets(), Store()
    app = OpenAPIApp(
        store_ops.OPERATIONS,
        {"pets": pets, "store": shop},
        chain=[recorder],
        title=store_ops.TITLE,
        validate_responses=True,
        spec_path=store_ops.SPEC_PATH,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield StoreHarness(app, pets, shop, recorder, client)


@dataclass
class LibraryHarness:
    """The Library app, its handlers and a client."""

    books: Books
    loans: Loans
    client: httpx.AsyncClient


@pytest.fixture
async def library() -> AsyncIterator[LibraryHarness]:
    """The Library API (OpenAPI 3.0) over ASGI."""
    books, loans = Books(), Loans()
    app = OpenAPIApp(
        library_ops.OPERATIONS,
        {"books": books, "loans": loans},
        title=library_ops.TITLE,
        validate_responses=True,
        spec_path=library_ops.SPEC_PATH,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield LibraryHarness(books, loans, client)


@pytest.fixture
def served_store() -> Iterator[str]:
    """The Pet Store API on a real uvicorn server at 127.0.0.1:<ephemeral>; yields its base URL."""
    with served(store_app()) as url:
        yield url


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` on a real uvicorn server at 127.0.0.1:<ephemeral>, in a thread; yields its base URL."""
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
