"""The standard ``grpc.health.v1.Health`` service, driven by readiness.

Every served service (and ``""``, the server as a whole) is SERVING exactly
while the service is ready, so a load balancer probing over gRPC sees the
same answer as the HTTP readiness probe: NOT_SERVING while starting,
draining or when a critical component is down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["HealthService"]

log = structlog.get_logger("microlib.grpc")

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class HealthService(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    """``Check`` and ``Watch`` answered from a readiness function.

    Args:
        services: The fully qualified names of the served services.
        ready: Returns whether the instance should receive traffic.
        interval: Seconds between readiness checks of an open ``Watch``.
    """

    def __init__(
        self, services: Iterable[str], ready: Callable[[], Awaitable[bool]], *, interval: float
    ) -> None:
        self._services = frozenset({"", *services})
        self._ready = ready
        self._interval = interval
        self._changed = asyncio.Event()
        self._closing = False

    def add_to(self, server: grpc.aio.Server) -> None:
        """Register the service on ``server`` (before it starts)."""
        health_pb2_grpc.add_HealthServicer_to_server(self, server)

    def notify(self) -> None:
        """Wake every ``Watch`` to re-check now (readiness just changed)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        """Send NOT_SERVING to every ``Watch`` and end those streams.

        Called when draining, so open watches do not hold the server's grace
        period hostage.
        """
        self._closing = True
        self.notify()

    async def Check(self, request: health_pb2.HealthCheckRequest, context: Any) -> Any:
        """The current status of ``request.service``; NOT_FOUND if not served."""
        if request.service not in self._services:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=await self._status(request.service))

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: Any) -> None:
        """Stream the status of ``request.service`` each time it changes."""
        last = None
        while True:
            changed = self._changed
            status = await self._status(request.service)
            if status != last:
                await context.write(health_pb2.HealthCheckResponse(status=status))
                last = status
            if self._closing:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await changed.wait()

    async def _status(self, service: str) -> Any:
        if service not in self._services:
            return _UNKNOWN
        if self._closing:
            return _NOT_SERVING
        try:
            ready = await self._ready()
        except Exception as exc:
            log.warning("readiness check failed", error=f"{type(exc).__name__}: {exc}")
            ready = False
        return _SERVING if ready else _NOT_SERVING
