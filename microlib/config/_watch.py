"""Watch config files: OS notifications through watchfiles, or content polling."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchfiles import Change

__all__ = ["FileWatcher"]

# How often the notification thread wakes up when nothing happens; it also
# bounds how long the first "watching" signal takes.
_IDLE_MS = 500


class FileWatcher:
    """Turns edits of a set of files into events.

    Args:
        files: Absolute paths of the files.
        force_polling: Compare the files' content every ``poll_interval``
            seconds instead of using OS notifications.
        poll_interval: Seconds between polls.
        debounce: Seconds to wait for a burst of writes to settle.
    """

    def __init__(
        self, files: Sequence[Path], *, force_polling: bool, poll_interval: float, debounce: float
    ) -> None:
        self._files = tuple(files)
        self._force_polling = force_polling
        self._poll_ms = max(1, round(poll_interval * 1000))
        self._debounce_ms = max(1, round(debounce * 1000))

    def events(self, stop_event: asyncio.Event) -> AsyncIterator[None]:
        """Yield once when watching has begun, then once per settled burst of changes.

        The iteration ends when ``stop_event`` is set.
        """
        return self._polled(stop_event) if self._force_polling else self._notified(stop_event)

    async def _notified(self, stop_event: asyncio.Event) -> AsyncIterator[None]:
        """Yield once when OS notifications are set up, then once per burst of changes."""
        # Imported here: watchfiles and anyio cost startup time to services that never watch.
        from watchfiles import awatch

        names = {str(path) for path in self._files}

        def relevant(_: Change, changed: str) -> bool:
            # Kubernetes swaps a ConfigMap through "..data" symlinks in the same directory.
            return changed in names or Path(changed).name.startswith("..")

        first = True
        async for changes in awatch(
            *sorted({str(path.parent) for path in self._files}),
            watch_filter=relevant,
            debounce=self._debounce_ms,
            step=min(50, self._debounce_ms),
            stop_event=stop_event,
            rust_timeout=_IDLE_MS,
            yield_on_timeout=True,
            recursive=False,
        ):
            if first or changes:
                first = False
                yield None

    async def _polled(self, stop_event: asyncio.Event) -> AsyncIterator[None]:
        """Yield once, then once per change of the files' content, checked every poll interval.

        Content is compared rather than modification times, whose resolution
        may hide two writes within the same second.
        """
        seen = await asyncio.to_thread(self._fingerprint)
        yield None
        while not await _wait(stop_event, self._poll_ms / 1000):
            current = await asyncio.to_thread(self._fingerprint)
            if current == seen:
                continue
            if await _wait(stop_event, self._debounce_ms / 1000):
                return
            seen = await asyncio.to_thread(self._fingerprint)
            yield None

    def _fingerprint(self) -> tuple[bytes | None, ...]:
        digests: list[bytes | None] = []
        for path in self._files:
            try:
                digests.append(hashlib.blake2b(path.read_bytes()).digest())
            except OSError:
                digests.append(None)
        return tuple(digests)


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``event``; whether it is set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
