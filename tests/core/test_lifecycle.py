"""Ordered start, reverse stop, bounded steps, failure clean-up."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from microlib.core import lifecycle
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


class Flaky(Recorder):
    """Fails its first ``failures`` starts, then starts."""

    def __init__(self, name: str, journal: list[str], failures: int) -> None:
        super().__init__(name, journal)
        self.failures = failures
        self.started = asyncio.Event()
        self.failed_thrice = asyncio.Event()

    async def start(self) -> None:
        if self.failures:
            self.failures -= 1
            self.journal.append(f"fail {self.name}")
            if self.journal.count(f"fail {self.name}") == 3:
                self.failed_thrice.set()
            raise ConnectionRefusedError("redis refused the connection")
        self.journal.append(f"start {self.name}")
        self.started.set()

    async def check(self) -> Mapping[str, Any] | None:
        if not self.started.is_set():
            raise ConnectionRefusedError("redis refused the connection")
        return {"up": True}


async def test_an_optional_component_starts_degraded_and_is_started_in_the_background(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An optional component whose start fails does not fail the start: it is
    tried again in the background, stopped after each failure, until it
    starts; its check is its own; the others start after it as usual."""
    monkeypatch.setattr(lifecycle, "_RETRY_FIRST", 0.01)
    journal: list[str] = []
    cache = Flaky("cache", journal, failures=2)
    waits: list[str | None] = []
    started = await start_all(
        [Recorder("db", journal), cache, Recorder("http", journal)],
        timeout=1,
        optional=[cache],
        starting=waits.append,
    )
    assert waits == ["db", "cache", "http", None]
    assert [c.name for c in started] == ["db", "cache", "http"]
    with pytest.raises(ConnectionRefusedError):
        await started[1].check()
    await asyncio.wait_for(cache.started.wait(), 10)
    assert await started[1].check() == {"up": True}
    await stop_all(started, timeout=1)
    assert [e for e in journal if "cache" not in e] == ["start db", "start http", "stop http", "stop db"]
    assert [e for e in journal if "cache" in e] == [
        "fail cache",
        "stop cache",
        "fail cache",
        "stop cache",
        "start cache",
        "stop cache",
    ]


async def test_an_optional_component_misconfigured_fails_the_start() -> None:
    """A ValueError (a setting no retry mends) fails the start even for an optional
    component, naming it; what started before is stopped."""
    journal: list[str] = []

    class Misconfigured(Recorder):
        async def start(self) -> None:
            raise ValueError("database.url is an in-memory SQLite database; use a file")

    relay = Misconfigured("outbox-relay", journal)
    with pytest.raises(StartupError, match=r"'outbox-relay' failed to start: .*in-memory SQLite"):
        await start_all([Recorder("db", journal), relay], timeout=1, optional=[relay])
    assert journal == ["start db", "stop db"]


async def test_stopping_ends_the_background_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopping a component still retrying ends the retries, then stops it."""
    monkeypatch.setattr(lifecycle, "_RETRY_FIRST", 0.01)
    journal: list[str] = []
    cache = Flaky("cache", journal, failures=1_000_000)
    started = await start_all([cache], timeout=1, optional=[cache])
    await asyncio.wait_for(cache.failed_thrice.wait(), 10)
    await stop_all(started, timeout=1)
    count = len(journal)
    await asyncio.sleep(0.1)
    assert len(journal) == count
    assert journal[-1] == "stop cache"
    assert not cache.started.is_set()


async def test_a_cancelled_start_stops_what_started() -> None:
    """Cancelling start_all stops the components already started, then propagates."""
    journal: list[str] = []
    entered = asyncio.Event()

    class Hanging(Recorder):
        async def start(self) -> None:
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(start_all([Recorder("db", journal), Hanging("slow", journal)], timeout=100))
    await asyncio.wait_for(entered.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert journal == ["start db", "stop db"]
