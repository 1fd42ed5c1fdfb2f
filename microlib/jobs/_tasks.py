"""Stopping a task that may lose its cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(task: asyncio.Task[Any], *, pause: float = 0.1, attempts: int = 50) -> bool:
    """Cancel ``task`` until it ends; whether it ended within ``attempts`` tries.

    Python 3.11's ``asyncio.wait_for`` drops a cancellation that arrives as
    the awaited operation completes (fixed in 3.12); broker clients call it
    deep inside their reads (redis-py's ``XREADGROUP``: one lost cancel in
    about fifty, measured here). A listener can therefore survive one
    ``cancel()``; a second one, a moment later, ends it.
    """
    for _ in range(attempts):
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=pause)
        if done:
            if not task.cancelled():
                task.exception()
            return True
    return False
