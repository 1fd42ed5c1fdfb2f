"""Broker commands gathered per turn of the loop (``microlib.messaging._batch``)."""

from __future__ import annotations

import asyncio

import pytest

from microlib.messaging._batch import Batch


async def test_items_submitted_in_one_turn_are_sent_together_each_with_its_outcome() -> None:
    """What one turn submits goes to one ``send``; each submitter gets its own outcome."""
    sent: list[list[str]] = []

    async def send(items: list[str]) -> list[str | BaseException]:
        sent.append(list(items))
        return [ValueError(item) if item == "bad" else item.upper() for item in items]

    batch: Batch[str, str] = Batch(send)
    first, refused, last = batch.submit("a"), batch.submit("bad"), batch.submit("c")
    assert batch.gathering
    assert not batch.idle
    assert await first == "A"
    with pytest.raises(ValueError, match="bad"):
        await refused
    assert await last == "C"
    assert sent == [["a", "bad", "c"]]
    assert not batch.gathering
    await asyncio.sleep(0)  # the sending task's end is reported at the next turn
    assert batch.idle


async def test_a_batch_cancelled_before_it_was_sent_cancels_its_items_and_the_next_ones_are_sent() -> None:
    """A batch whose task is cancelled before its first step (the loop shutting down)
    cancels what it gathered instead of keeping it: later items start a batch of their
    own and are sent."""
    sent: list[list[str]] = []

    async def send(items: list[str]) -> list[str | BaseException]:
        sent.append(list(items))
        return list(items)

    batch: Batch[str, str] = Batch(send)
    others = asyncio.all_tasks()
    gathered = batch.submit("lost")
    (sender,) = asyncio.all_tasks() - others
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    assert gathered.cancelled()
    assert not batch.gathering
    assert await batch.submit("next") == "next"
    assert sent == [["next"]]
