"""The management endpoints (``/metrics``, the log-level endpoint) and the separate port that can serve them.

Observability provides what they serve (the registry's exposition, the log
pipeline's levels); this module answers over HTTP, so the management port
renders its errors with the service's one problem renderer. Keeping scrapes
and admin calls off the service's own port (``metrics.port``) lets network
policy expose them to Prometheus and operators only, and keeps them out of
the service's request metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from microlib.core.errors import Unavailable
from microlib.http.app import _Application

if TYPE_CHECKING:
    from microlib.observability.prometheus import PrometheusMetrics
    from microlib.observability.stack import Observability

__all__ = ["ManagementServer", "management_routes", "metrics_route"]


def management_routes(observability: Observability) -> list[Route]:
    """The management endpoints its settings turn on, for one port or the other.

    The Service serves them on the management port (:class:`ManagementServer`)
    when ``metrics.port`` is set, and otherwise on its own port through its chain.

    Args:
        observability: Whose metrics and log levels they serve; its settings'
            ``metrics.enabled``/``metrics.path`` and ``logging.admin`` decide.

    Returns:
        ``/metrics`` and the log-level endpoint, each when enabled.
    """
    settings = observability.settings
    routes = []
    if settings.metrics.enabled:
        routes.append(metrics_route(observability.metrics, settings.metrics.path))
    if settings.logging.admin.enabled:
        from microlib.http.log_levels import log_levels_route  # off by default: loaded once turned on

        routes.append(log_levels_route(observability.logs, settings.logging.admin.path))
    return routes


def metrics_route(metrics: PrometheusMetrics, path: str = "/metrics") -> Route:
    """A Starlette route serving ``metrics`` with OpenMetrics content negotiation.

    Args:
        metrics: The registry to expose.
        path: Where to mount it (``metrics.path``).
    """

    async def scrape(request: Request) -> Response:
        body, content_type = metrics.exposition(request.headers.get("accept", ""))
        return Response(body, headers={"content-type": content_type})

    return Route(path, scrape, methods=["GET"], name="metrics")


class ManagementServer:
    """A Component running a small uvicorn server for ``routes``.

    Args:
        routes: What to serve (``/metrics``, the log-level endpoint).
        host: The address to bind (``metrics.host``).
        port: The port (``metrics.port``; ``0`` picks a free one, see :attr:`port`).
    """

    name = "observability-management"

    def __init__(self, routes: Sequence[BaseRoute], *, host: str, port: int) -> None:
        config = uvicorn.Config(
            # The service's one router: its 404 and 405 (with Allow) problems, as the service's port answers.
            _Application(list(routes), []),
            host=host,
            port=port,
            log_config=None,
            lifespan="off",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> None:
        """Bind the port and start serving."""
        config = self._server.config
        if not config.loaded:
            config.load()
        self._server.lifespan = config.lifespan_class(config)
        # Server.serve() would install signal handlers; the service owns those.
        try:
            await self._server.startup()
        except SystemExit as exc:
            # uvicorn exits the process when it cannot bind; a component raises instead.
            raise Unavailable(f"management server could not listen on {config.host}:{config.port}") from exc
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self._task = asyncio.create_task(self._server.main_loop(), name="microlib-management")

    async def stop(self) -> None:
        """Stop accepting and close connections."""
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._server.shutdown()
        self._task = None

    async def check(self) -> Mapping[str, Any] | None:
        """Report the bound port; raise when the server is not running."""
        if self._task is None or self._task.done():
            raise Unavailable("management server is not running")
        return {"port": self.port}
