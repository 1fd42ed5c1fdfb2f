"""What the taskiq-backed queue keeps beside the broker: delays, dead letters,
outcomes and idempotency keys (taskiq's brokers keep none of these in a way
every backend shares)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Store", "open_store"]


class Store(Protocol):
    """A small key-value and sorted-set store in Redis or PostgreSQL."""

    async def start(self) -> None:
        """Connect; create tables when missing."""
        ...

    async def stop(self) -> None:
        """Disconnect."""
        ...

    async def ping(self) -> None:
        """Raise when unreachable."""
        ...

    async def remember_key(self, key: str, job_id: str, ttl: float) -> str | None:
        """Set ``key`` to ``job_id`` unless set; the id it already held, or None."""
        ...

    async def forget_key(self, key: str, job_id: str) -> None:
        """Unset ``key`` if it holds ``job_id`` (compared and dropped at once)."""
        ...

    async def key_holder(self, key: str) -> tuple[str, float] | None:
        """The job id ``key`` holds and when it expires (Unix time), unless unset."""
        ...

    async def delay(self, entry: str, message: bytes, due: float) -> None:
        """Keep ``message`` as ``entry`` (unique per delay) until ``due`` (Unix time)."""
        ...

    async def due(self, now: float, limit: int, hold: float) -> list[tuple[str, bytes]]:
        """Claim up to ``limit`` messages due by ``now``, hiding them from other
        replicas for ``hold`` seconds (they come back if not settled by then)."""
        ...

    async def settle(self, entry: str) -> None:
        """Forget a delayed entry that was sent on."""
        ...

    async def bury(self, job_id: str, letter: str, failed_at: float) -> None:
        """Keep a dead letter (JSON)."""
        ...

    async def dead_letters(self, limit: int) -> list[str]:
        """Dead letters, oldest first."""
        ...

    async def dead_letter(self, job_id: str) -> str | None:
        """One dead letter."""
        ...

    async def exhume(self, job_id: str) -> str | None:
        """Remove and return one dead letter (for a replay)."""
        ...

    async def purge(self) -> int:
        """Drop every dead letter; how many there were."""
        ...

    async def dead_count(self) -> int:
        """How many dead letters are kept."""
        ...

    async def set_outcome(self, job_id: str, outcome: str, ttl: float) -> None:
        """Keep an outcome (JSON) for ``ttl`` seconds."""
        ...

    async def outcome(self, job_id: str) -> str | None:
        """An outcome, if kept."""
        ...


def open_store(url: str, namespace: str) -> Store:
    """The store ``url`` names (``redis://`` or ``postgresql://``)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        from microlib.jobs._redis_store import RedisStore

        return RedisStore(url, namespace)
    from microlib.jobs._postgres_store import PostgresStore

    return PostgresStore(url, namespace)
