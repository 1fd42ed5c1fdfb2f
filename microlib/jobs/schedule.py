"""Cron and interval cadences: which moments are ticks of a schedule.

Cron expressions are read by croniter (pallets-eco; time-zone aware,
including the days daylight saving time skips or repeats an hour), imported
only when a contract has a cron schedule.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from microlib.core.errors import InvalidContract
from microlib.core.extras import require
from microlib.jobs.definition import JobDefinition

__all__ = ["Cadence", "CronCadence", "IntervalCadence", "Plan", "plan"]

_SCAN_CAP = 100_000


class Cadence(Protocol):
    """The ticks of a schedule."""

    def next_after(self, moment: float) -> float:
        """The first tick strictly after ``moment`` (Unix time)."""
        ...

    def between(self, after: float, until: float, limit: int) -> tuple[list[float], int]:
        """Ticks in ``(after, until]``: the latest ``limit`` of them, ascending, and how many there are."""
        ...


@dataclass(frozen=True, slots=True)
class IntervalCadence:
    """A tick every ``seconds``, on multiples of it since the Unix epoch."""

    seconds: float

    def next_after(self, moment: float) -> float:
        """The next multiple of the interval."""
        return (math.floor(moment / self.seconds) + 1) * self.seconds

    def between(self, after: float, until: float, limit: int) -> tuple[list[float], int]:
        """Computed, not scanned: any gap costs the same."""
        first = math.floor(after / self.seconds) + 1
        last = math.floor(until / self.seconds)
        count = max(0, last - first + 1)
        start = max(first, last - limit + 1)
        return [k * self.seconds for k in range(start, last + 1)], count


class CronCadence:
    """The ticks of a cron expression in a time zone.

    Raises:
        ValueError: the expression or the zone is invalid, saying why.
    """

    def __init__(self, expression: str, timezone: str) -> None:
        require("jobs", f"the cron schedule {expression!r}")
        from croniter import croniter

        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        fields = len(expression.split())
        if fields not in (5, 6):
            raise ValueError(
                f"invalid cron expression {expression!r}: expected 5 fields (6 with seconds first)"
            )
        self._seconds_first = fields == 6
        if not croniter.is_valid(expression, second_at_beginning=self._seconds_first):
            raise ValueError(f"invalid cron expression {expression!r}: {_refused(croniter, expression)}")
        self._croniter = croniter
        self.expression = expression

    def _iter(self, moment: float) -> Any:
        start = dt.datetime.fromtimestamp(moment, self._zone)
        return self._croniter(self.expression, start, second_at_beginning=self._seconds_first)

    def next_after(self, moment: float) -> float:
        """The next tick, in the zone's local time."""
        return float(self._iter(moment).get_next(float))

    def between(self, after: float, until: float, limit: int) -> tuple[list[float], int]:
        """Scanned forward from ``after`` (at most 100,000 ticks are counted)."""
        ticks: deque[float] = deque(maxlen=max(limit, 0) or None)
        count = 0
        iterator = self._iter(after)
        while count < _SCAN_CAP:
            tick = float(iterator.get_next(float))
            if tick > until:
                break
            count += 1
            if limit:
                ticks.append(tick)
        return list(ticks), count


_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")


def _refused(croniter: Any, expression: str) -> str:
    """Which field of ``expression`` croniter refuses: each is tried alone, the others ``*``,
    since croniter says only that the whole is "not acceptable"."""
    fields = expression.split()
    seconds_first = len(fields) == 6
    names = ("second", *_FIELDS) if seconds_first else _FIELDS
    for index, (name, value) in enumerate(zip(names, fields, strict=True)):
        alone = ["*"] * len(fields)
        alone[index] = value
        if not croniter.is_valid(" ".join(alone), second_at_beginning=seconds_first):
            return f"the {name} field {value!r} is out of range or not a cron value"
    return "croniter refuses it"  # pragma: no cover - croniter reads each field on its own


@dataclass(frozen=True, slots=True)
class Plan:
    """A scheduled job and its cadence."""

    job: JobDefinition
    cadence: Cadence


def plan(job: JobDefinition) -> Plan:
    """The plan of a scheduled job.

    Raises:
        InvalidContract: naming the job and where its schedule is declared.
    """
    schedule = job.schedule
    if schedule is None:
        raise ValueError(f"job {job.name} has no schedule")
    try:
        cadence: Cadence = (
            IntervalCadence(schedule.interval)
            if schedule.interval is not None
            else CronCadence(str(schedule.cron), schedule.timezone)
        )
    except ValueError as exc:
        where = schedule.source or job.source or "its contract"
        raise InvalidContract(f"{where}: job {job.name}: {exc}") from None
    return Plan(job, cadence)
