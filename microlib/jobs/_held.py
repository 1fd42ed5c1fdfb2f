"""A broker message whose claim the worker that took it keeps alive.

Redis and PostgreSQL hand a job taken by a worker to another worker once
its claim has not been renewed for ``jobs.redelivery_timeout``: that is how
the jobs of a worker that died are run again. The worker holding a job
renews its claim (``touch``) until the job is settled, so a job that runs
long, or waited long in the queue, is never handed out while it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from taskiq import AckableMessage

__all__ = ["HeldMessage"]


class HeldMessage(AckableMessage):
    """An ``AckableMessage`` with ``touch``: renew the claim; False once it is not this worker's
    any more (another worker took the job over, or it was settled)."""

    touch: Callable[[], Awaitable[bool]]
