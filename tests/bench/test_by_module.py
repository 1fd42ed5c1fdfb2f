"""``bench/startup/by_module.py --call``: each call of a function is counted apart from the rest."""

from __future__ import annotations

import asyncio

import pytest

from bench.startup import by_module


class _Owner:
    def called(self, value: int) -> int:
        return value + 1

    async def awaited(self, value: int) -> int:
        return value * 2

    def failing(self) -> None:
        raise ValueError("no")


def test_calls_are_marked_around_their_own_work() -> None:
    """Plain and awaited methods keep their results, and a call that raises still ends its
    mark, so the count after it is not charged to it."""
    order: list[str] = []
    for name in ("called", "awaited", "failing"):
        by_module._wrap(_Owner, name, f"{name}()", order)
    owner = _Owner()
    assert owner.called(1) == 2
    assert asyncio.run(owner.awaited(2)) == 4
    with pytest.raises(ValueError):
        owner.failing()
    assert order == ["+called()", "-called()", "+awaited()", "-awaited()", "+failing()", "-failing()"]


def test_a_call_is_its_own_entry_between_modules() -> None:
    """A marked call counts its own instructions; the imports inside it stay the modules'."""
    events = ["+m", "+m:f()", "+n", "-n", "-m:f()", "-m", "=ready"]
    parts = {1: 100, 2: 10, 3: 20, 4: 3, 5: 5, 6: 7, 7: 1}
    own, inclusive = by_module.attribute(events, parts)
    assert own == {"(not importing)": 101, "m": 17, "m:f()": 25, "n": 3}
    assert inclusive["m:f()"] == 28
