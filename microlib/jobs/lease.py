"""The scheduler's leadership lease, with a fencing token.

One replica at a time holds the lease and fires ticks. Each acquisition
draws a new, larger fencing token; a tick is claimed with the token, and
the lease's store refuses the claim unless the token is the current
holder's and the tick is later than the job's last one. A leader that
stalled past its lease (a pause, a partition) therefore cannot fire: its
token is stale. Implementations: :class:`MemoryLease` (one process),
:class:`~microlib.jobs.redis_lease.RedisLease` and
:class:`~microlib.jobs.postgres_lease.PostgresLease`.
"""

from __future__ import annotations

import enum
from typing import Protocol

__all__ = ["Claim", "Lease", "MemoryLease"]


class Claim(enum.Enum):
    """What the store said to a tick claim."""

    FIRED = "fired"
    """The tick is this leader's to fire."""
    DUPLICATE = "duplicate"
    """The tick (or a later one) was already claimed."""
    STALE = "stale"
    """The token is not the current holder's: leadership is lost."""


class Lease(Protocol):
    """A lease on the scheduler, renewed by its holder."""

    async def start(self) -> None:
        """Connect."""
        ...

    async def stop(self) -> None:
        """Disconnect."""
        ...

    async def acquire(self) -> int | None:
        """Take the lease if it is free (or already ours); its token, or None."""
        ...

    async def renew(self) -> bool:
        """Extend our lease; False when it is no longer ours."""
        ...

    async def release(self) -> None:
        """Give the lease up, if ours, so another replica takes over at once."""
        ...

    async def claim(self, job: str, tick: float, token: int) -> Claim:
        """Claim ``job``'s ``tick`` under ``token``."""
        ...

    async def last_tick(self, job: str) -> float | None:
        """The latest tick of ``job`` claimed by any leader."""
        ...


class MemoryLease:
    """The lease of a single process: it always leads."""

    def __init__(self) -> None:
        self._token = 0
        self._held = False
        self._ticks: dict[str, float] = {}

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def acquire(self) -> int | None:
        """Take the lease (a new token unless already held)."""
        if not self._held:
            self._held = True
            self._token += 1
        return self._token

    async def renew(self) -> bool:
        """True while held."""
        return self._held

    async def release(self) -> None:
        """Let go."""
        self._held = False

    async def claim(self, job: str, tick: float, token: int) -> Claim:
        """Fenced, once per tick."""
        if not self._held or token != self._token:
            return Claim.STALE
        if self._ticks.get(job, float("-inf")) >= tick:
            return Claim.DUPLICATE
        self._ticks[job] = tick
        return Claim.FIRED

    async def last_tick(self, job: str) -> float | None:
        """The last claimed tick."""
        return self._ticks.get(job)
