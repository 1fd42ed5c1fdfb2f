"""A worker replica that the test kills with SIGKILL in the middle of a job.

It prints ``started <order_id>`` when a job starts; the job then runs until
the process is killed.

Usage: python -m tests.jobs._doomed OVERRIDE...
"""

from __future__ import annotations

import sys

from microlib import Service
from microlib.jobs import JobContext
from tests.jobs._contract import Receipt, Total
from tests.jobs.cases import UntimedHandlers


class Announcing(UntimedHandlers):
    async def send_receipt(self, payload: Receipt, ctx: JobContext) -> Total:
        print("started", payload.order_id, flush=True)
        return await super().send_receipt(payload, ctx)


def serve(handlers: object) -> None:
    """Run a service of ``handlers`` with the overrides given on the command line."""
    service = Service("shop")
    service.include(handlers)
    service.configure(overrides=["http.enabled=false", "logging.level=WARNING", *sys.argv[1:]])
    service.run()


if __name__ == "__main__":
    serve(Announcing())
