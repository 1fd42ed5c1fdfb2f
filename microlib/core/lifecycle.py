"""The component lifecycle: ordered start, reverse stop, every step bounded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import structlog

from microlib.core.errors import Unavailable

__all__ = [
    "RETRY_AFTER_SECONDS",
    "Component",
    "DrainExpired",
    "Drainable",
    "Leaving",
    "Registration",
    "ShutdownError",
    "StartupError",
    "shutting_down",
    "start_all",
    "stop_all",
]

log = structlog.get_logger("microlib.lifecycle")

# Backoff of the background start of an optional component that failed to start.
_RETRY_FIRST = 1.0
_RETRY_MAX = 30.0


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
        """Stop accepting new work at once and wait for in-flight work.

        Raises:
            DrainExpired: work was still running after ``timeout`` seconds
                and was cancelled (each cancelled call answered
                :func:`shutting_down`).
        """
        ...


@runtime_checkable
class Leaving(Protocol):
    """A server that can send its clients elsewhere while it still serves.

    Shutdown calls ``leaving()`` as readiness fails, before the drain delay,
    so that clients holding connections open (HTTP keep-alive) move to other
    replicas during the delay instead of having the drain close a connection
    under a request they have just sent.
    """

    def leaving(self) -> None:
        """Keep serving, but ask clients to make their next requests elsewhere."""
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


class DrainExpired(Exception):
    """A drain's budget ended with work still running; that work was cancelled.

    Args:
        component: The name of the component that drained.
        cancelled: How many calls or requests were cancelled.
    """

    def __init__(self, component: str, cancelled: int) -> None:
        super().__init__(f"{component!r} cancelled {cancelled} call(s) still running when its drain ended")
        self.component = component
        self.cancelled = cancelled


class ShutdownError(Exception):
    """Shutdown did not finish within its budget: work was cancelled or abandoned.

    The service did stop; this only tells the process to exit non-zero, so
    an orchestrator sees that the shutdown was not clean.
    """


RETRY_AFTER_SECONDS = 1
"""The retry hint sent with :func:`shutting_down` (HTTP ``Retry-After``)."""


def shutting_down() -> Unavailable:
    """The error a call still running when the drain's budget ends is answered with.

    Retrying is safe: the call was cancelled, and another replica (or this
    one, restarted) will take it.
    """
    return Unavailable(
        "the service is shutting down; retry the call", reason="SHUTTING_DOWN", domain="microlib"
    )


async def start_all(
    components: Sequence[Component],
    timeout: float,
    *,
    optional: Collection[Component] = (),
    starting: Callable[[str | None], None] | None = None,
) -> list[Component]:
    """Start ``components`` in order, each within ``timeout`` seconds.

    Args:
        components: What to start, in order.
        timeout: Seconds each start may take.
        optional: Components the service can run without: one that fails
            to start is logged, left degraded (its health check reports
            it) and started again in the background, with backoff, until
            it starts or the service stops. A ``ValueError`` or
            ``TypeError`` is a mistake in configuration or code, not an
            outage: no retry mends it, so it fails the start as for any
            other component.
        starting: Told the name of each component as its start begins,
            then ``None`` once every one has started (the startup probe
            names what it waits for).

    Returns:
        The components, started or (optional ones) retrying.

    Raises:
        StartupError: naming the first component that failed and is not
            optional; the ones started before it have been stopped, in
            reverse order.
    """
    started: list[Component] = []
    for component in components:
        log.debug("component starting", component=component.name)
        if starting is not None:
            starting(component.name)
        try:
            async with asyncio.timeout(timeout):
                await component.start()
        except Exception as exc:
            if component not in optional or isinstance(exc, ValueError | TypeError):
                await stop_all(started, timeout)
                raise StartupError(component.name, exc) from exc
            log.warning("component started degraded", component=component.name, error=_describe(exc))
            started.append(_Retrying(component, timeout))
            continue
        except asyncio.CancelledError:
            await stop_all(started, timeout)
            raise
        started.append(component)
        log.info("component started", component=component.name)
    if starting is not None:
        starting(None)
    return started


class _Retrying:
    """An optional component whose start failed, started again in the background.

    Stopping it ends the retries, then stops the component (which must be
    safe after a failed start). Its health is the component's own check.
    """

    def __init__(self, component: Component, timeout: float) -> None:
        self.name = component.name
        self.component = component
        self._task = asyncio.create_task(self._retry(timeout), name=f"{component.name}-start-retry")

    async def _retry(self, timeout: float) -> None:
        delay = _RETRY_FIRST
        while True:
            with contextlib.suppress(Exception):
                await self.component.stop()  # what the failed start left behind
            await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(timeout):
                    await self.component.start()
            except Exception as exc:
                delay = min(delay * 2, _RETRY_MAX)
                log.warning(
                    "component still failing to start",
                    component=self.name,
                    error=_describe(exc),
                    retry_in=delay,
                )
            else:
                log.info("component started", component=self.name, after_degraded_start=True)
                return

    async def start(self) -> None:
        """Never called: the wrapper exists only once the start failed."""

    async def stop(self) -> None:
        """End the retries, then stop the component."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.component.stop()

    async def check(self) -> Mapping[str, Any] | None:
        """The component's own check."""
        return await self.component.check()


async def stop_all(
    components: Sequence[Component], timeout: float, *, stopping: Callable[[str], None] | None = None
) -> None:
    """Stop ``components`` in reverse order, each within ``timeout`` seconds.

    A component that fails or times out is logged and skipped: the others
    still get their chance to release resources.

    Args:
        components: What to stop, in the order they started.
        timeout: Seconds each stop may take.
        stopping: Told the name of each component as its stop begins.
    """
    for component in reversed(components):
        if stopping is not None:
            stopping(component.name)
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
