"""aiokafka's error lines during a Kafka outage, folded into two.

Each of aiokafka's tasks (metadata, fetcher, group coordinator, sender) logs
every failed attempt, a few hundred error lines in a few seconds of outage.
:class:`OutageLog` is a :class:`logging.Filter` on aiokafka's loggers: the
first warning or error is logged as one warning naming the broker, the
setting and that first error, the following ones are held (counted, not
written) while the Kafka adapter asks the cluster for its metadata, and one
info line says when Kafka answers again. aiokafka names its loggers after
its modules, which ``tests/messaging/test_aiokafka_drift.py`` checks on the
installed release.
"""

from __future__ import annotations

import asyncio
import logging
import pkgutil
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiokafka
import structlog

__all__ = ["OutageLog"]

log = structlog.get_logger("microlib.messaging")


def _aiokafka_loggers() -> list[logging.Logger]:
    """aiokafka's loggers: one per module (``getLogger(__name__)``), its client's ``aiokafka``.
    A logger's filters see only its own records, not its children's."""
    modules = pkgutil.walk_packages(aiokafka.__path__, "aiokafka.")
    return [logging.getLogger(name) for name in ["aiokafka", *(module.name for module in modules)]]


class OutageLog(logging.Filter):
    """Holds aiokafka's warnings and errors from the first one until Kafka answers.

    Args:
        bootstrap: The brokers of ``messaging.url``.
        answers: Raises while Kafka does not answer.
        backoff: Seconds before the first ask, doubling up to ``backoff_max``.
        backoff_max: The longest wait between two asks.
    """

    def __init__(
        self, bootstrap: str, answers: Callable[[], Awaitable[Any]], backoff: float, backoff_max: float
    ) -> None:
        super().__init__()
        self._bootstrap = bootstrap
        self._answers = answers
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._loggers: list[logging.Logger] = []
        self._watch: asyncio.Task[None] | None = None
        self._held = 0

    def install(self) -> None:
        """Filter aiokafka's loggers."""
        self._loggers = _aiokafka_loggers()
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

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass what is below a warning; hold the rest, saying so at the first."""
        if record.levelno < logging.WARNING:
            return True
        if self._watch is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not from the service's loop: nothing to ask Kafka with
                return True
            log.warning(
                "Kafka client failing; its errors are held until Kafka answers",
                broker=self._bootstrap,
                setting="messaging.url",
                error=record.getMessage(),
                source=record.name,
            )
            self._held = 0
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
        log.info(
            "Kafka answers again",
            broker=self._bootstrap,
            setting="messaging.url",
            errors_held=self._held,
            after_s=round(time.monotonic() - since, 1),
        )
        self._watch = None
