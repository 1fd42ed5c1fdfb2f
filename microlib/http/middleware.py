"""The ordered, configurable HTTP middleware list.

ASGI middleware for what only HTTP has: CORS, security headers, a body size
limit, a request timeout and gzip. Request ids, logging, metrics, tracing and
recovery are interceptors of the shared chain (the same for gRPC and
messaging), not middleware. ``order`` in the ``http_middleware`` section
lists what runs, the first outermost; each entry has its own settings.

The leading entries that only look at the request and stamp the response
(security headers, body limit, timeout, gzip, in that order) do not run as
layers of their own in a service's app: the HTTP edge runs them inline
(``fuse``), with the same effect, order and answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware as StarletteGZip

from microlib.config.model import (
    CorsSettings,
    HttpMiddlewareSettings,
    MiddlewareName,
    SecurityHeadersSettings,
)
from microlib.core._watchdog import Watchdog
from microlib.core.errors import DeadlineExceeded, Error, ResourceExhausted
from microlib.http.errors import send_problem
from microlib.observability.http_server import current_correlation_id

__all__ = [
    "BodyLimitMiddleware",
    "CorsSettings",
    "HttpMiddlewareSettings",
    "SecurityHeadersMiddleware",
    "SecurityHeadersSettings",
    "TimeoutMiddleware",
    "build_middleware",
    "wrap",
]

log = structlog.get_logger("microlib.http")

ASGI = Callable[..., Any]


class SecurityHeadersMiddleware:
    """Adds the configured security headers to every HTTP response.

    Args:
        app: The wrapped ASGI app.
        settings: Which headers, with which values.
    """

    def __init__(self, app: ASGI, settings: SecurityHeadersSettings) -> None:
        self.app = app
        pairs = [
            ("x-content-type-options", settings.content_type_options),
            ("x-frame-options", settings.frame_options),
            ("referrer-policy", settings.referrer_policy),
            ("content-security-policy", settings.content_security_policy),
        ]
        if settings.hsts_max_age:
            pairs.append(("strict-transport-security", f"max-age={settings.hsts_max_age}; includeSubDomains"))
        self.headers = [(k.encode(), v.encode()) for k, v in pairs if v]

    # Where it may run inline in the edge: after the starting gate.
    FUSE_RANK = 1

    def fuse(self, edge: Any) -> None:
        """Have ``edge`` add the headers to the responses of the app it serves."""
        edge.headers = self.headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = with_headers(message, self.headers)
            await send(message)

        await self.app(scope, receive, add_headers)


def with_headers(start: Mapping[str, Any], headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The ``http.response.start`` message with those of ``headers`` it does not set already."""
    own = list(start.get("headers", []))
    present = set()
    for name, _value in own:
        present.add(name.lower())
    for header in headers:
        if header[0] not in present:
            own.append(header)
    return {**start, "headers": own}


class BodyLimitMiddleware:
    """Rejects request bodies larger than ``limit`` bytes with 413.

    The refusal is raised when the body is read (at once when
    ``Content-Length`` declares too much; a chunked body as it is counted),
    after routing: the answer is labelled with its route, and each door
    renders it as it renders any error, the chain's included.

    Args:
        app: The wrapped ASGI app.
        limit: The largest accepted body in bytes.
    """

    def __init__(self, app: ASGI, limit: int) -> None:
        self.app = app
        self.limit = limit

    # Where it may run inline in the edge: after the security headers.
    FUSE_RANK = 2
    refusal: type[Error]
    """The exception a watched body raises past the limit (``ResourceExhausted``)."""

    def fuse(self, edge: Any) -> None:
        """Have ``edge`` watch request bodies (and answer the refusal an app let through)."""
        edge.limit = self

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection."""
        watched = self.watch(scope, receive) if scope["type"] == "http" else receive
        if watched is receive:
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, watched, tracking_send)
        except _TooLarge as exc:
            # An app that does not render errors itself (a raw ASGI route).
            if not started:
                await send_problem(send, exc)

    def watch(self, scope: Any, receive: Any) -> Any:
        """``receive``, or a receive that raises past the limit when the body needs watching."""
        declared = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit():
                declared = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        return self.watching(declared, chunked, scope, receive)

    def watching(self, declared: int | None, chunked: bool, scope: Any, receive: Any) -> Any:
        """:meth:`watch` for a request whose headers were read already.

        Args:
            declared: Its ``Content-Length`` (the last one, if digits), or None.
            chunked: It has a ``Transfer-Encoding`` header.
            scope: The request's scope.
            receive: Its ASGI receive.
        """
        if not chunked and declared is not None and declared <= self.limit:
            # An HTTP/1 server reads Content-Length bytes: only a chunked body,
            # or one declared too large, needs watching.
            return receive
        if declared is None and not chunked and scope.get("http_version", "1.1").startswith("1"):
            return receive  # no body at all
        seen = 0

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen
            if declared is not None and declared > self.limit:
                raise _TooLarge(self.limit)
            message: dict[str, Any] = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge(self.limit)
            return message

        return counting_receive


class _TooLarge(ResourceExhausted):
    """The body limit's refusal: an ``Error``, so any door renders it (413, by its reason)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds {limit} bytes", reason="BODY_TOO_LARGE")


BodyLimitMiddleware.refusal = _TooLarge


class TimeoutMiddleware:
    """Ends a request that runs longer than ``seconds`` with 504.

    The budget is checked every tenth of ``seconds`` (at most every
    second), so a request ends up to that much later than ``seconds``.

    Args:
        app: The wrapped ASGI app.
        seconds: The time budget of one request.
    """

    def __init__(self, app: ASGI, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._watchdog = Watchdog(seconds)

    # Where it may run inline in the edge: after the body limit.
    FUSE_RANK = 3

    def fuse(self, edge: Any) -> None:
        """Have ``edge`` keep the time budget of each request."""
        edge.timeout = self
        edge.watchdog = self._watchdog

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection."""
        task = asyncio.current_task()
        if scope["type"] != "http" or task is None:
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        cancelling = self.watch(task)
        timed_out = False
        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            if not self.expired(task, cancelling):
                raise
            timed_out = True
        finally:
            self.release(task)
        if timed_out and not started:
            await self.answer(scope, send)

    def watch(self, task: asyncio.Task[Any]) -> int:
        """Start the budget of ``task``; what :meth:`expired` compares with."""
        # Cancellations pending before this request are not ours to absorb.
        cancelling = task.cancelling()
        self._watchdog.watch(task)
        return cancelling

    def expired(self, task: asyncio.Task[Any], cancelling: int) -> bool:
        """Whether the cancellation ``task`` got is the budget's, and only the budget's."""
        return self._watchdog.expired_alone(task, cancelling)

    def release(self, task: asyncio.Task[Any]) -> None:
        """Stop the budget of ``task``, withdrawing its cancellation if it ran out."""
        self._watchdog.release(task)

    async def answer(self, scope: Any, send: Any) -> None:
        """Answer a request whose budget ran out: 504, and one error line."""
        # Only an OpenAPI operation declares error shapes, and it loads this module itself:
        # a service without one does not import it to start.
        from microlib.http._error_shapes import scope_shape

        message = f"request did not complete within {self.seconds:g}s"
        correlation = current_correlation_id()
        log.error("request timed out", method=scope["method"], path=scope["path"], correlation_id=correlation)
        await send_problem(
            send,
            DeadlineExceeded(message, reason="TIMEOUT"),
            correlation_id=correlation,
            shape=scope_shape(scope, 504),
        )


def build_middleware(settings: HttpMiddlewareSettings) -> list[Middleware]:
    """The middleware list for ``settings``, the first entry outermost.

    Args:
        settings: The ``http_middleware`` section.

    Returns:
        Starlette ``Middleware`` entries, for ``HttpApp.add_middleware`` or
        ``Starlette(middleware=...)``.
    """
    out: list[Middleware] = []
    for name in settings.order:
        entry = _entry(name, settings)
        if entry is not None:
            out.append(entry)
    return out


def wrap(app: ASGI, settings: HttpMiddlewareSettings) -> ASGI:
    """Wrap a bare ASGI app in the configured middleware.

    Args:
        app: The app to wrap.
        settings: The ``http_middleware`` section.

    Returns:
        The wrapped app.
    """
    for middleware in reversed(build_middleware(settings)):
        app = middleware.cls(app, *middleware.args, **middleware.kwargs)
    return app


def _entry(name: MiddlewareName, s: HttpMiddlewareSettings) -> Middleware | None:
    if name == "cors":
        c = s.cors
        if not c.allow_origins and c.allow_origin_regex is None:
            return None
        from starlette.middleware.cors import CORSMiddleware  # off by default: loaded once configured

        return Middleware(
            CORSMiddleware,
            allow_origins=c.allow_origins,
            allow_origin_regex=c.allow_origin_regex,
            allow_methods=c.allow_methods,
            allow_headers=c.allow_headers,
            allow_credentials=c.allow_credentials,
            expose_headers=c.expose_headers,
            max_age=c.max_age,
        )
    if name == "security_headers":
        return Middleware(SecurityHeadersMiddleware, settings=s.security_headers)
    if name == "body_limit":
        return Middleware(BodyLimitMiddleware, limit=s.max_body_bytes) if s.max_body_bytes else None
    if name == "timeout":
        return Middleware(TimeoutMiddleware, seconds=s.request_timeout) if s.request_timeout else None
    return Middleware(GZipMiddleware, minimum_size=s.gzip_minimum_size, compresslevel=s.gzip_level)


class GZipMiddleware(StarletteGZip):
    """Starlette's gzip middleware, out of the way of clients that do not accept gzip.

    Starlette wraps every response to inspect its headers even when the
    client cannot take gzip; such requests go straight to the app here.
    """

    # Where it may run inline in the edge: after the timeout.
    FUSE_RANK = 4

    def fuse(self, edge: Any) -> None:
        """Have ``edge`` pass requests that accept gzip through this, the others straight on."""
        edge.gzip = self

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection."""
        if scope["type"] == "http" and not accepts_gzip(scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def accepts_gzip(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the request's ``Accept-Encoding`` takes gzip."""
    return any(name == b"accept-encoding" and b"gzip" in value.lower() for name, value in headers)
