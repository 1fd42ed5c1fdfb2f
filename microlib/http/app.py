"""The service's HTTP application: one router for every route, behind the service's middleware.

Plain routes (through the chain or raw), mounts, OpenAPI operations and
transcoded RPCs all sit in one :class:`~microlib.http._router.Router`; an
``OpenAPIApp`` mounted here has its operations added to that router (the
mount stays behind them, for its documents and its 404s). The app runs the
middleware added here, the HTTP edge first when the service adds it, then
the router: no other layer between them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from microlib.core.chain import Chain
from microlib.http._plain import Handler, endpoint
from microlib.http._router import Router
from microlib.http.edge import HttpEdge

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

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes and mounts added so far, in order (a copy)."""
        return list(self._routes)

    def mount(self, path: str, app: ASGIApp, *, name: str | None = None) -> None:
        """Mount a whole ASGI app (documents UI, another framework) at ``path``.

        An ``OpenAPIApp``'s operations join the app's router, ahead of the mount.
        """
        self._check_open()
        # No OpenAPIApp exists before its module loads: a service without one never loads it.
        openapi = sys.modules.get("microlib.http.openapi")
        if openapi is not None and isinstance(app, openapi.OpenAPIApp) and "{" not in path:
            self._routes.extend(app.routes(path.rstrip("/")))
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
            self._app = _Application(self._routes, self._middleware)
        return self._app

    def _check_open(self) -> None:
        if self._app is not None:
            raise RuntimeError("routes and middleware must be added before the HTTP app is built")


class _Application(Starlette):
    """Starlette's application (state, ``url_path_for``, lifespan) over the one router.

    The router renders 404, 405 and ``HTTPException`` itself, so no
    exception middleware sits in between; the edge, when first, answers
    the last-resort 500 (else Starlette's server error middleware does).
    """

    def __init__(self, routes: list[BaseRoute], middleware: list[Middleware]) -> None:
        super().__init__(middleware=middleware)
        self.router = Router(routes)

    def build_middleware_stack(self) -> ASGIApp:
        """The middleware added, the first outermost, around the router.

        With the edge first, the built-in middleware right behind it run
        inside the edge (``fuse``) while they come in their usual order
        (gate, security headers, body limit, timeout, gzip); the rest stay layers.
        """
        middleware = list(self.user_middleware)
        first: Any = middleware[0].cls if middleware else None
        if first is not HttpEdge:
            middleware.insert(0, Middleware(ServerErrorMiddleware))
            return _stack(middleware, self.router)
        edge, rest = middleware[0], middleware[1:]
        steps: list[Middleware] = []
        rank = -1
        while rest and getattr(rest[0].cls, "FUSE_RANK", -1) > rank:
            steps.append(rest.pop(0))
            rank = getattr(steps[-1].cls, "FUSE_RANK", -1)
        inner = _stack(rest, self.router)
        fused = [step.cls(inner, *step.args, **step.kwargs) for step in steps]
        # The router tells the edge which route matched: no scope watching.
        options: dict[str, Any] = {**edge.kwargs, "routed": True, "fused": fused}
        return HttpEdge(inner, *edge.args, **options)


def _stack(middleware: list[Middleware], app: ASGIApp) -> ASGIApp:
    for cls, args, kwargs in reversed(middleware):
        app = cls(app, *args, **kwargs)
    return app
