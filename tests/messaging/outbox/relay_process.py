"""A relay as a replica runs it, in a process of its own: ``python relay_process.py DB_URL``.

Prints ``relaying`` once started, then relays until killed.
"""

from __future__ import annotations

import asyncio
import sys

import structlog

from tests.messaging.outbox._harness import relay


async def main(url: str) -> None:
    """Relay from the database at ``url`` to the shared RabbitMQ until killed."""
    # Logs go to stderr: stdout says when the relay is started.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    async with relay(url, batch_size=20, linger=0.05):
        print("relaying", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
