"""The health endpoints: live, ready, startup and the detailed report."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from microlib.config.model import HealthSettings
from microlib.http.app import HttpApp
from microlib.observability.health import Health, HealthReport

__all__ = ["add_probes"]


def add_probes(http: HttpApp, health: Health, settings: HealthSettings) -> None:
    """Add ``/health``, ``/health/live``, ``/health/ready`` and ``/health/startup``.

    Each answers 200 when up and 503 when down, with a JSON body; component
    details are shown unless ``health.show_details`` is ``never``.
    """
    details = settings.show_details == "always"
    base = settings.path.rstrip("/")

    def respond(report: HealthReport) -> JSONResponse:
        return JSONResponse(report.as_dict(details=details), status_code=200 if report.up else 503)

    async def live(request: Request) -> JSONResponse:
        return respond(await health.report("liveness"))

    async def ready(request: Request) -> JSONResponse:
        return respond(await health.report("readiness"))

    async def startup(request: Request) -> JSONResponse:
        up = health.started
        return JSONResponse(
            {"status": "UP" if up else "DOWN", "phase": health.phase.value}, status_code=200 if up else 503
        )

    async def overall(request: Request) -> JSONResponse:
        return respond(await health.overall())

    http.add_route(f"{base}/live", live, name="health-live")
    http.add_route(f"{base}/ready", ready, name="health-ready")
    http.add_route(f"{base}/startup", startup, name="health-startup")
    http.add_route(base or "/", overall, name="health")
