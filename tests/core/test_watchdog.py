"""The request-timeout watchdog: one timer for every request's budget."""

from __future__ import annotations

import asyncio
import time

import pytest

from microlib.core._watchdog import Watchdog


async def _sleeper(watchdog: Watchdog, seconds: float) -> str:
    task = asyncio.current_task()
    assert task is not None
    watchdog.watch(task)
    try:
        await asyncio.sleep(seconds)
        return "done"
    except asyncio.CancelledError:
        if watchdog.expired(task):
            return "expired"
        raise
    finally:
        watchdog.release(task)


async def test_only_tasks_over_budget_are_cancelled() -> None:
    """Of tasks watched together, those that outlive the budget are cancelled, the others finish."""
    # Budgets far from the sleeps, so a loaded machine's scheduling delays decide nothing.
    watchdog = Watchdog(0.5)
    results = await asyncio.gather(
        _sleeper(watchdog, 0), _sleeper(watchdog, 10.0), _sleeper(watchdog, 0), _sleeper(watchdog, 10.0)
    )
    assert results == ["done", "expired", "done", "expired"]


async def test_expired_task_is_uncancelled_on_release() -> None:
    """A task whose budget ran out carries no cancellation once released, so it can go on."""
    watchdog = Watchdog(0.02)
    task = asyncio.create_task(_sleeper(watchdog, 1.0))
    assert await task == "expired"
    assert task.cancelling() == 0


async def test_outside_cancellation_is_not_a_timeout() -> None:
    """Cancelling a watched task before its budget runs out propagates as a cancellation."""
    watchdog = Watchdog(10.0)
    task = asyncio.create_task(_sleeper(watchdog, 1.0))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_timer_stops_when_nothing_is_watched() -> None:
    """With every task released, no check stays scheduled on the loop."""
    watchdog = Watchdog(0.5)
    assert await _sleeper(watchdog, 0) == "done"
    await asyncio.sleep(0.2)  # past the next check (every 0.05 s), which finds nothing watched
    assert watchdog._timer is None


def test_each_event_loop_starts_afresh() -> None:
    """A watchdog used from a second event loop forgets the first loop's tasks."""
    watchdog = Watchdog(0.2)
    assert asyncio.run(_sleeper(watchdog, 10.0)) == "expired"
    assert asyncio.run(_sleeper(watchdog, 0)) == "done"


async def test_a_task_put_in_watched_on_the_armed_loop_is_kept_as_a_watched_one() -> None:
    """While its check is scheduled on a task's loop, putting the task in ``watched`` with its
    deadline is watching it (the edge's way); popping it back is releasing it."""
    watchdog = Watchdog(0.2)
    assert watchdog.armed_on is None
    assert await _sleeper(watchdog, 0) == "done"
    loop = asyncio.get_running_loop()
    assert watchdog.armed_on is loop

    async def inline(seconds: float) -> str:
        task = asyncio.current_task()
        assert task is not None
        assert task.get_loop() is watchdog.armed_on
        watchdog.watched[task] = time.monotonic() + watchdog.seconds
        try:
            await asyncio.sleep(seconds)
            return "done"
        except asyncio.CancelledError:
            return "expired" if watchdog.expired(task) else "cancelled"
        finally:
            if watchdog.watched.pop(task, None) is None:
                watchdog.release(task)

    assert await asyncio.gather(inline(10.0), inline(0)) == ["expired", "done"]
    assert not watchdog.watched
