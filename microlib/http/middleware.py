"""The ordered, configurable HTTP middleware list.

ASGI middleware for what only HTTP has: CORS, security headers, a body size
limit, a request timeout and gzip. Request ids, logging, metrics, tracing and
recovery are interceptors of the shared chain (the same for gRPC and
messaging), not middleware. ``order`` in the ``http_middleware`` section
lists what runs, the first outermost; each entry has its own settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware as StarletteGZip

from microlib.config.model import Section
from microlib.core.errors import DeadlineExceeded, ResourceExhausted
from microlib.http._responder import send_problem
from microlib.http._watchdog import Watchdog

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

MiddlewareName = Literal["cors", "security_headers", "body_limit", "timeout", "gzip"]
ASGI = Callable[..., Any]
_DEFAULT_ORDER: tuple[MiddlewareName, ...] = ("cors", "security_headers", "body_limit", "timeout", "gzip")


class CorsSettings(Section):
    """Cross-origin requests; off while ``allow_origins`` is empty."""

    allow_origins: list[str] = Field(default_factory=list)
    allow_origin_regex: str | None = None
    allow_methods: list[str] = Field(default_factory=lambda: ["GET", "POST", "PUT", "PATCH", "DELETE"])
    allow_headers: list[str] = Field(default_factory=list)
    allow_credentials: bool = False
    expose_headers: list[str] = Field(default_factory=list)
    max_age: int = Field(default=600, ge=0)


class SecurityHeadersSettings(Section):
    """Headers added to every response (an empty value leaves one out)."""

    content_type_options: str = "nosniff"
    frame_options: str = "DENY"
    referrer_policy: str = "no-referrer"
    content_security_policy: str = ""
    hsts_max_age: int = Field(default=0, ge=0, description="Strict-Transport-Security max-age; 0 is off")


class HttpMiddlewareSettings(Section):
    """The ``http_middleware`` config section."""

    order: list[MiddlewareName] = Field(default_factory=lambda: list(_DEFAULT_ORDER))
    cors: CorsSettings = CorsSettings()
    security_headers: SecurityHeadersSettings = SecurityHeadersSettings()
    max_body_bytes: int = Field(default=1024 * 1024, ge=0, description="0 disables the limit")
    request_timeout: float = Field(default=30.0, ge=0, description="seconds; 0 disables the timeout")
    gzip_minimum_size: int = Field(default=1024, ge=0)
    gzip_level: int = Field(default=6, ge=1, le=9)


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

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _v in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, add_headers)


class BodyLimitMiddleware:
    """Rejects request bodies larger than ``limit`` bytes with 413.

    ``Content-Length`` is checked before the app runs; a chunked body is
    counted as it is read.

    Args:
        app: The wrapped ASGI app.
        limit: The largest accepted body in bytes.
    """

    def __init__(self, app: ASGI, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit():
                declared = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None and declared > self.limit:
            await send_problem(send, self._error(), 413)
            return
        if not chunked and (declared is not None or scope.get("http_version", "1.1").startswith("1")):
            # An HTTP/1 server reads Content-Length bytes, or no body at all
            # when it is absent: only a chunked body needs counting.
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await send_problem(send, self._error(), 413)

    def _error(self) -> ResourceExhausted:
        return ResourceExhausted(f"request body exceeds {self.limit} bytes", reason="BODY_TOO_LARGE")


class _TooLarge(Exception):
    pass


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

        # Cancellations pending before this request are not ours to absorb.
        cancelling = task.cancelling()
        self._watchdog.watch(task)
        timed_out = False
        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            # Someone else cancelled too (shutdown, a client gone): theirs wins.
            if not self._watchdog.expired(task) or task.cancelling() > cancelling + 1:
                raise
            timed_out = True
        finally:
            self._watchdog.release(task)
        if timed_out and not started:
            message = f"request did not complete within {self.seconds:g}s"
            await send_problem(send, DeadlineExceeded(message, reason="TIMEOUT"))


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

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one ASGI connection."""
        if scope["type"] == "http" and not _accepts_gzip(scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _accepts_gzip(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"accept-encoding" and b"gzip" in value.lower() for name, value in headers)
