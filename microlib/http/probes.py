"""The health endpoints: live, ready, startup and the detailed report."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from microlib.config.model import HealthSettings
from microlib.core.errors import Error, Unavailable
from microlib.core.lifecycle import RETRY_AFTER_SECONDS
from microlib.http.app import HttpApp
from microlib.http.errors import send_problem
from microlib.observability.health import Health, HealthReport

__all__ = ["StartingGate", "add_probes", "probe_paths"]


def probe_paths(settings: HealthSettings) -> tuple[str, str, str, str]:
    """The paths of the detailed report and of the live, ready and startup probes.

    Args:
        settings: The ``health`` section (``path`` is their prefix).

    Returns:
        ``/health``, ``/health/live``, ``/health/ready`` and ``/health/startup`` by default.
    """
    base = settings.path.rstrip("/")
    return (base or "/", f"{base}/live", f"{base}/ready", f"{base}/startup")


def add_probes(http: HttpApp, health: Health, settings: HealthSettings) -> None:
    """Add ``/health``, ``/health/live``, ``/health/ready`` and ``/health/startup``.

    Each answers 200 when up and 503 when down, with a JSON body; component
    details are shown unless ``health.show_details`` is ``never``.
    """
    details = settings.show_details == "always"
    overall_path, live_path, ready_path, startup_path = probe_paths(settings)

    def respond(report: HealthReport) -> JSONResponse:
        return JSONResponse(report.as_dict(details=details), status_code=200 if report.up else 503)

    async def live(request: Request) -> JSONResponse:
        return respond(await health.report("liveness"))

    async def ready(request: Request) -> JSONResponse:
        return respond(await health.report("readiness"))

    async def startup(request: Request) -> JSONResponse:
        up = health.started
        body = {"status": "UP" if up else "DOWN", "phase": health.phase.value}
        if not up and health.waiting_for is not None:
            body["waiting_for"] = health.waiting_for
        return JSONResponse(body, status_code=200 if up else 503)

    async def overall(request: Request) -> JSONResponse:
        return respond(await health.overall())

    http.add_route(live_path, live, name="health-live")
    http.add_route(ready_path, ready, name="health-ready")
    http.add_route(startup_path, startup, name="health-startup")
    http.add_route(overall_path, overall, name="health")


class StartingGate:
    """Serves only the probes while the service starts its components.

    The HTTP server starts before the other components, so the startup
    probe answers (503, naming the component it waits for) while a
    database is still being retried; every other request gets a 503 with
    ``Retry-After`` until then, so no route runs before its dependencies.

    Args:
        app: The ASGI app to guard.
        health: The service's health (its phase says when to open).
        probes: The probes' path prefix (``health.path``).
    """

    def __init__(self, app: ASGIApp, *, health: Health, probes: str) -> None:
        self.app = app
        self._health = health
        self._probes = probes.rstrip("/")

    # Where it may run inline in the edge: first.
    FUSE_RANK = 0

    def fuse(self, edge: Any) -> None:
        """Have ``edge`` refuse requests while the service starts."""
        edge.gate = self
        # What the edge looks at first: while nothing is awaited, the gate is open.
        edge.gate_health = self._health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or refuse it while the service starts."""
        error = self.closed(scope)
        if error is None:
            await self.app(scope, receive, send)
            return
        await self.refuse(send, error)

    def closed(self, scope: Scope) -> Error | None:
        """Why the request is refused, or None to serve it."""
        waiting = self._health.waiting_for
        if waiting is None or scope["type"] != "http" or self._is_probe(scope["path"]):
            return None
        return Unavailable(
            f"the service is starting (waiting for {waiting})", reason="STARTING", domain="microlib"
        )

    async def refuse(self, send: Send, error: Error) -> None:
        """Answer a refused request: 503 with ``Retry-After``."""
        await send_problem(send, error, headers=[(b"retry-after", str(RETRY_AFTER_SECONDS).encode())])

    def _is_probe(self, path: str) -> bool:
        return path == (self._probes or "/") or path.startswith(f"{self._probes}/")
