"""A PostgreSQL connection that never LISTENs: what an enqueue-only broker listens on.

taskiq-postgres's broker LISTENs on its read connection when it starts, whether or not it
will ever read. An enqueue-only broker (a replica enqueuing to a queue it does not work)
kept every NOTIFY of its queue, each job any replica enqueued its own included, in an
in-memory queue nothing reads: it grew for as long as the replica ran. Handed a
:class:`QuietConnection` (the broker's public ``read_connection``), its LISTEN does
nothing, so PostgreSQL sends it nothing; and a replica's enqueue-only brokers share one
idle connection rather than holding a listening one each.
"""

from __future__ import annotations

from typing import Any

import asyncpg

__all__ = ["QuietConnection", "connect_quiet"]


class QuietConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection whose ``add_listener`` and ``remove_listener`` do nothing."""

    async def add_listener(self, channel: str, callback: Any) -> None:
        """Listen to nothing: the broker handed this connection only enqueues."""

    async def remove_listener(self, channel: str, callback: Any) -> None:
        """Nothing was listened to."""


async def connect_quiet(dsn: str) -> QuietConnection:
    """A connection to ``dsn`` that never LISTENs."""
    connection: QuietConnection = await asyncpg.connect(dsn, connection_class=QuietConnection)
    return connection
