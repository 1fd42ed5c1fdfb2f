"""The component lifecycle: ordered start, reverse stop, every step bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import structlog

__all__ = ["Component", "Drainable", "Registration", "StartupError", "start_all", "stop_all"]

log = structlog.get_logger("microlib.lifecycle")


@runtime_checkable
class Component(Protocol):
    """A part of a service with a lifecycle: a server, a pool, a consumer.

    ``check`` returns optional details when healthy and raises when not; the
    health registry bounds it with a timeout and caches its result.
    """

    name: str

    async def start(self) -> None:
        """Acquire resources; raise to abort the service's start."""
        ...

    async def stop(self) -> None:
        """Release resources; must be safe to call after a failed start."""
        ...

    async def check(self) -> Mapping[str, Any] | None:
        """Raise if unhealthy; otherwise return optional details."""
        ...


@runtime_checkable
class Drainable(Protocol):
    """A component that accepts work from outside (an HTTP or gRPC server).

    On shutdown it first stops accepting and lets in-flight work finish,
    within ``timeout`` seconds, before any component is stopped.
    """

    async def drain(self, timeout: float) -> None:
        """Stop accepting new work and wait for in-flight work."""
        ...


@dataclass(frozen=True, slots=True)
class Registration:
    """A component as registered with a service.

    Args:
        component: The component.
        critical: Whether readiness waits for its check to pass.
        groups: Health groups whose status it counts towards
            (``readiness``, ``liveness``).
    """

    component: Component
    critical: bool = True
    groups: frozenset[str] = field(default_factory=lambda: frozenset({"readiness"}))

    @property
    def name(self) -> str:
        """The component's name."""
        return self.component.name


class StartupError(Exception):
    """A component failed to start; the already-started ones were stopped.

    Args:
        component: The name of the component that failed.
        cause: What went wrong.
    """

    def __init__(self, component: str, cause: BaseException) -> None:
        reason = "timed out" if isinstance(cause, TimeoutError) else _describe(cause)
        super().__init__(f"component {component!r} failed to start: {reason}")
        self.component = component
        self.cause = cause


async def start_all(components: Sequence[Component], timeout: float) -> list[Component]:
    """Start ``components`` in order, each within ``timeout`` seconds.

    Returns:
        The components, all started.

    Raises:
        StartupError: naming the first component that failed; the ones
            started before it have been stopped, in reverse order.
    """
    started: list[Component] = []
    for component in components:
        log.debug("component starting", component=component.name)
        try:
            async with asyncio.timeout(timeout):
                await component.start()
        except (Exception, asyncio.CancelledError) as exc:
            await stop_all(started, timeout)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise StartupError(component.name, exc) from exc
        started.append(component)
        log.info("component started", component=component.name)
    return started


async def stop_all(components: Sequence[Component], timeout: float) -> None:
    """Stop ``components`` in reverse order, each within ``timeout`` seconds.

    A component that fails or times out is logged and skipped: the others
    still get their chance to release resources.
    """
    for component in reversed(components):
        try:
            async with asyncio.timeout(timeout):
                await component.stop()
        except Exception as exc:
            log.error("component failed to stop", component=component.name, error=_describe(exc))
        else:
            log.info("component stopped", component=component.name)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
