"""Health checks and the service's live / ready / startup state.

Probes must answer fast even when a dependency hangs, so each component
check is bounded by a timeout, shared by concurrent probes (one check in
flight per component) and cached for a short time.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from microlib.core.lifecycle import Registration

__all__ = ["ComponentHealth", "Health", "HealthReport", "Phase"]


class Phase(enum.Enum):
    """Where the service is in its lifecycle."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """The outcome of one component's check."""

    name: str
    up: bool
    critical: bool
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""
    duration_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The state of one health group and the checks behind it."""

    group: str
    up: bool
    phase: Phase
    components: tuple[ComponentHealth, ...]

    def as_dict(self, *, details: bool) -> dict[str, Any]:
        """The JSON body of a probe; ``details`` adds per-component results."""
        body: dict[str, Any] = {"status": "UP" if self.up else "DOWN", "phase": self.phase.value}
        if details:
            body["components"] = {
                c.name: _component_dict(c) for c in sorted(self.components, key=lambda c: c.name)
            }
        return body


def _component_dict(c: ComponentHealth) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "UP" if c.up else "DOWN", "critical": c.critical}
    if c.details:
        out["details"] = dict(c.details)
    if c.error:
        out["error"] = c.error
    out["duration_ms"] = round(c.duration_ms, 2)
    return out


class Health:
    """Runs component checks and answers the probes.

    Args:
        registrations: The service's components with their health groups.
        check_timeout: Seconds one check may take before it counts as down.
        cache_ttl: Seconds a check result is reused.
    """

    def __init__(
        self, registrations: Sequence[Registration], *, check_timeout: float, cache_ttl: float
    ) -> None:
        self.phase = Phase.STARTING
        self.waiting_for: str | None = None
        """The component whose start the service waits for, while it starts."""
        self._registrations = list(registrations)
        self._check_timeout = check_timeout
        self._cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, ComponentHealth]] = {}
        self._inflight: dict[str, asyncio.Task[ComponentHealth]] = {}

    def register(self, registration: Registration) -> None:
        """Add a component to the checks."""
        self._registrations.append(registration)

    @property
    def started(self) -> bool:
        """Whether startup has completed (the startup probe)."""
        return self.phase in (Phase.RUNNING, Phase.STOPPING)

    async def report(self, group: str) -> HealthReport:
        """Check the components of ``group`` (``readiness``, ``liveness``...).

        ``readiness`` is down outside the RUNNING phase whatever the checks
        say, so a starting or draining instance receives no traffic; the
        other groups only reflect their critical components' checks.
        """
        members = [r for r in self._registrations if group in r.groups]
        results = await asyncio.gather(*(self._check(r) for r in members))
        up = all(c.up for c in results if c.critical)
        if group == "readiness":
            up = up and self.phase is Phase.RUNNING
        elif group == "liveness":
            up = up and self.phase is not Phase.STOPPED
        return HealthReport(group, up, self.phase, tuple(results))

    async def overall(self) -> HealthReport:
        """Every component, whatever its group (the ``/health`` endpoint)."""
        results = await asyncio.gather(*(self._check(r) for r in self._registrations))
        up = self.phase is Phase.RUNNING and all(c.up for c in results if c.critical)
        return HealthReport("all", up, self.phase, tuple(results))

    async def _check(self, registration: Registration) -> ComponentHealth:
        name = registration.name
        cached = self._cache.get(name)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._cache_ttl:
            return cached[1]
        task = self._inflight.get(name)
        if task is None:
            task = asyncio.create_task(self._run_check(registration))
            self._inflight[name] = task
            task.add_done_callback(lambda _: self._inflight.pop(name, None))
        # Shielded so that one probe giving up does not cancel the check
        # other probes are waiting on.
        return await asyncio.shield(task)

    async def _run_check(self, registration: Registration) -> ComponentHealth:
        begin = time.monotonic()
        try:
            async with asyncio.timeout(self._check_timeout):
                details = await registration.component.check()
        except TimeoutError:
            result = self._result(registration, begin, error=f"check timed out after {self._check_timeout}s")
        except Exception as exc:
            result = self._result(registration, begin, error=f"{type(exc).__name__}: {exc}")
        else:
            result = self._result(registration, begin, details=details or {})
        self._cache[registration.name] = (time.monotonic(), result)
        return result

    @staticmethod
    def _result(
        registration: Registration,
        begin: float,
        *,
        error: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> ComponentHealth:
        return ComponentHealth(
            name=registration.name,
            up=not error,
            critical=registration.critical,
            details=details or {},
            error=error,
            duration_ms=(time.monotonic() - begin) * 1000,
        )
