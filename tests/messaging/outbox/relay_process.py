"""A relay as a replica runs it, in a process of its own: ``python relay_process.py DB_URL [LINGER]``.

Prints ``relaying`` once started, then relays until killed. ``LINGER`` (seconds, 0.05 unless
given) slows each publish down to widen the windows a kill lands in.
"""

from __future__ import annotations

import asyncio
import sys

import structlog

from tests.messaging.outbox._harness import relay


async def main(url: str, linger: float) -> None:
    """Relay from the database at ``url`` to the shared RabbitMQ until killed."""
    # Logs go to stderr: stdout says when the relay is started.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    async with relay(url, batch_size=20, linger=linger):
        print("relaying", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.05))
