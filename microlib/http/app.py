"""The service's HTTP application: routes through the chain, and raw routes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from microlib.core.chain import Chain
from microlib.core.errors import NotFound, Unimplemented
from microlib.http.endpoint import Handler, endpoint
from microlib.http.errors import problem_response

__all__ = ["HttpApp"]


class HttpApp:
    """Collects a service's HTTP routes and builds one Starlette app.

    Routes added with :meth:`route` run through the service's interceptor
    chain; :meth:`add_route` is for endpoints that must stay outside it
    (probes, metrics, documents).

    Args:
        chain: The service's interceptor chain.
    """

    def __init__(self, chain: Chain) -> None:
        self._chain = chain
        self._routes: list[BaseRoute] = []
        self._middleware: list[Middleware] = []
        self._app: Starlette | None = None

    def route(
        self, path: str, *, methods: Sequence[str] = ("GET",), service: str = "http"
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler for ``path`` through the chain.

        Args:
            path: A Starlette path template (``/books/{id}``).
            methods: HTTP methods it answers.
            service: The API name spans and metrics report.
        """

        def decorate(handler: Handler) -> Handler:
            run = endpoint(self._chain, handler, service=service, method=path)
            self.add_route(path, run, methods=methods)
            return handler

        return decorate

    def add_route(
        self,
        path: str,
        endpoint: Callable[[Request], Any],
        *,
        methods: Sequence[str] = ("GET",),
        name: str | None = None,
    ) -> None:
        """Register a raw Starlette endpoint, outside the chain."""
        self._check_open()
        self._routes.append(Route(path, endpoint, methods=list(methods), name=name))

    def add_routes(self, routes: Sequence[BaseRoute]) -> None:
        """Register ready-made Starlette routes (transcoded RPCs), in order."""
        self._check_open()
        self._routes.extend(routes)

    def mount(self, path: str, app: ASGIApp, *, name: str | None = None) -> None:
        """Mount a whole ASGI app (documents UI, another framework) at ``path``."""
        self._check_open()
        self._routes.append(Mount(path, app=app, name=name))

    def add_middleware(self, middleware: Middleware, *, outermost: bool = False) -> None:
        """Append ASGI middleware; the first one added runs outermost.

        Args:
            middleware: The middleware entry.
            outermost: Put it before every entry added so far.
        """
        self._check_open()
        self._middleware.insert(0 if outermost else len(self._middleware), middleware)

    @property
    def app(self) -> Starlette:
        """The Starlette application; built on first use, then frozen."""
        if self._app is None:
            self._app = Starlette(
                routes=self._routes,
                middleware=self._middleware,
                exception_handlers={404: _not_found, 405: _not_allowed},
            )
        return self._app

    def _check_open(self) -> None:
        if self._app is not None:
            raise RuntimeError("routes and middleware must be added before the HTTP app is built")


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem_response(NotFound(f"no route matches {request.method} {request.url.path}"))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    error = Unimplemented(f"method {request.method} is not allowed on {request.url.path}")
    return problem_response(error, status=405)
