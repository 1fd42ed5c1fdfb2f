"""Ordered start, reverse stop, bounded steps, failure clean-up."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from microlib.core.lifecycle import StartupError, start_all, stop_all


class Recorder:
    """A component that records what happens to it in a shared journal."""

    def __init__(self, name: str, journal: list[str], *, fail: bool = False, delay: float = 0.0) -> None:
        self.name = name
        self.journal = journal
        self.fail = fail
        self.delay = delay

    async def start(self) -> None:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise ConnectionRefusedError("database refused the connection")
        self.journal.append(f"start {self.name}")

    async def stop(self) -> None:
        self.journal.append(f"stop {self.name}")

    async def check(self) -> Mapping[str, Any] | None:
        return None


async def test_components_start_in_order_and_stop_in_reverse() -> None:
    """start_all keeps registration order; stop_all reverses it."""
    journal: list[str] = []
    parts = [Recorder(n, journal) for n in ("db", "cache", "http")]
    started = await start_all(parts, timeout=1)
    await stop_all(started, timeout=1)
    assert journal == ["start db", "start cache", "start http", "stop http", "stop cache", "stop db"]


async def test_failed_start_stops_the_started_ones_and_names_the_cause() -> None:
    """A failing component aborts the start; those before it are stopped."""
    journal: list[str] = []
    parts = [Recorder("db", journal), Recorder("cache", journal), Recorder("broker", journal, fail=True)]
    with pytest.raises(StartupError) as info:
        await start_all(parts, timeout=1)
    assert info.value.component == "broker"
    assert "ConnectionRefusedError: database refused the connection" in str(info.value)
    assert journal == ["start db", "start cache", "stop cache", "stop db"]


async def test_slow_start_times_out() -> None:
    """A component that does not start within the timeout fails the start."""
    journal: list[str] = []
    with pytest.raises(StartupError, match="'slow' failed to start: timed out"):
        await start_all([Recorder("fast", journal), Recorder("slow", journal, delay=5)], timeout=0.05)
    assert journal == ["start fast", "stop fast"]


async def test_stop_failure_does_not_prevent_other_stops() -> None:
    """One component failing to stop still lets the others release resources."""
    journal: list[str] = []

    class Broken(Recorder):
        async def stop(self) -> None:
            raise RuntimeError("boom")

    await stop_all([Recorder("a", journal), Broken("b", journal), Recorder("c", journal)], timeout=1)
    assert journal == ["stop c", "stop a"]
