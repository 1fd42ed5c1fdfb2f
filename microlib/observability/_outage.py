"""A driver's error lines during an outage of what it connects to, folded into two.

Broker drivers log every failed attempt: aiokafka's tasks (metadata, fetcher,
group coordinator, sender) a few hundred error lines in a few seconds of
outage, aiormq and aio-pika an error (one with a traceback) and a warning for
each reconnection attempt and each health probe. :class:`OutageLog` is a
:class:`logging.Filter` on the driver's loggers: the first warning or error is
logged as one warning naming the broker, the setting and that first error,
the following ones are held (counted, not written) while it asks the broker
whether it answers, and one info line says when it answers again.

Several clients of one driver may share a process (the messaging broker and
the jobs queue both on RabbitMQ): what a client starts inside
:meth:`OutageLog.scope` (its connections, and the tasks and callbacks they
create, which inherit the context) is held by that client's log alone; a line
logged outside every scope goes to the first log installed on the logger.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import pkgutil
import time
from collections.abc import Awaitable, Callable, Iterator
from types import ModuleType
from typing import Any

import structlog

__all__ = ["FailureStreak", "OutageLog", "library_loggers"]

_scope: contextvars.ContextVar[OutageLog | None] = contextvars.ContextVar("microlib_outage", default=None)


def library_loggers(*packages: ModuleType) -> list[logging.Logger]:
    """The loggers of ``packages``: one per module (``getLogger(__name__)``) and the
    package's own. A logger's filters see only its own records, not its children's."""
    names = []
    for package in packages:
        modules = pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        names += [package.__name__, *(module.name for module in modules)]
    return [logging.getLogger(name) for name in names]


class OutageLog(logging.Filter):
    """Holds a driver's warnings and errors from the first one until the broker answers.

    Args:
        what: The broker's kind, as the two lines name it (``Kafka``, ``RabbitMQ``).
        broker: Where it is, its password masked.
        setting: The setting that gives it (``messaging.url``).
        loggers: The driver's loggers (:func:`library_loggers`).
        answers: Raises while the broker does not answer.
        backoff: Seconds before the first ask, doubling up to ``backoff_max``.
        backoff_max: The longest wait between two asks.
    """

    def __init__(
        self,
        what: str,
        broker: str,
        setting: str,
        loggers: Callable[[], list[logging.Logger]],
        answers: Callable[[], Awaitable[Any]],
        backoff: float,
        backoff_max: float,
    ) -> None:
        super().__init__()
        self._what = what
        # Logged as the setting's section: microlib.messaging, microlib.jobs.
        self._log = structlog.get_logger(f"microlib.{setting.partition('.')[0]}")
        self._names = {"broker": broker, "setting": setting}
        self._find_loggers = loggers
        self._answers = answers
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._loggers: list[logging.Logger] = []
        self._watch: asyncio.Task[None] | None = None
        self._held = 0

    def install(self) -> None:
        """Filter the driver's loggers."""
        self._loggers = self._find_loggers()
        for logger in self._loggers:
            logger.addFilter(self)

    async def uninstall(self) -> None:
        """Stop filtering and asking."""
        for logger in self._loggers:
            logger.removeFilter(self)
        self._loggers = []
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """What the driver logs meanwhile, and from the tasks started meanwhile, is this log's."""
        token = _scope.set(self)
        try:
            yield
        finally:
            _scope.reset(token)

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass what is below a warning or another client's; hold the rest, saying so at the first."""
        if record.levelno < logging.WARNING or _scope.get() not in (self, None):
            return True
        if self._watch is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not from the service's loop: nothing to ask the broker with
                return True
            self._log.warning(
                f"{self._what} client failing; its errors are held until {self._what} answers",
                **self._names,
                error=record.getMessage(),
                source=record.name,
            )
            self._held = 0
            with self.scope():  # the asks' own failures are held too
                self._watch = loop.create_task(self._until_answered(time.monotonic()))
        else:
            self._held += 1
        return False

    async def _until_answered(self, since: float) -> None:
        pause = self._backoff
        while True:
            await asyncio.sleep(pause)
            try:
                await self._answers()
            except Exception:
                pause = min(pause * 2, self._backoff_max)
                continue
            break
        self._log.info(
            f"{self._what} answers again",
            **self._names,
            errors_held=self._held,
            after_s=round(time.monotonic() - since, 1),
        )
        self._watch = None


class FailureStreak:
    """Attempts of a loop of microlib's own that fail in a row (a worker listening again, a
    consumer fetching again): the first is said, the next ones counted, the end said once,
    with how many failed and for how long, as :class:`OutageLog` does for a driver's lines."""

    def __init__(self) -> None:
        self._since: float | None = None
        self._failed = 0

    def failed(self) -> bool:
        """Count one failed attempt; whether it is the first of the streak (to be said)."""
        first = self._since is None
        if first:
            self._since, self._failed = time.monotonic(), 0
        self._failed += 1
        return first

    def ended(self) -> dict[str, Any] | None:
        """End the streak, if any: ``failed_attempts`` and ``after_s``, for the line saying so."""
        if self._since is None:
            return None
        said = {"failed_attempts": self._failed, "after_s": round(time.monotonic() - self._since, 1)}
        self._since = None
        return said
