"""Stages fused into one step: the same order and outcomes as nested interceptors, fewer frames."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from microlib.core.chain import Chain, Stage, compose
from microlib.core.context import CallContext
from tests.core.test_chain import Tag


class Step(Stage):
    """A stage that records its halves and what its exit saw."""

    def __init__(self, name: str, journal: list[str], *, enter_fails: bool = False) -> None:
        self.name = name
        self.journal = journal
        self.enter_fails = enter_fails

    def enter(self, ctx: CallContext) -> str:
        self.journal.append(f">{self.name}")
        if self.enter_fails:
            raise KeyError(self.name)
        return self.name

    def exit(self, ctx: CallContext, state: Any, failure: BaseException | None) -> BaseException | None:
        assert state == self.name
        seen = "ok" if failure is None else type(failure).__name__
        self.journal.append(f"<{self.name}:{seen}")
        return None


class Translate(Stage):
    """Replaces a ``ValueError`` by a ``LookupError`` caused by it (as recovery does)."""

    def exit(self, ctx: CallContext, state: Any, failure: BaseException | None) -> BaseException | None:
        if isinstance(failure, ValueError):
            replacement = LookupError("translated")
            replacement.__cause__ = failure
            return replacement
        return None


def _ctx() -> CallContext:
    return CallContext(kind="grpc", service="s", method="m")


def _frames(name: str) -> int:
    """Frames of functions called ``name`` between here and the call's start."""
    frame = sys._getframe(1)
    count = 0
    while frame is not None:
        count += frame.f_code.co_name == name
        frame = frame.f_back
    return count


async def test_stages_and_interceptors_keep_their_configured_order() -> None:
    """Stages around, between and inside plain interceptors enter and exit
    exactly as the nested chain did, in the chain's slots."""
    journal: list[str] = []
    chain = Chain([Tag("user1", journal), Tag("user2", journal)])
    for slot in ("request_id", "recovery", "tracing", "metrics", "logging"):
        chain.install(slot, Step(slot, journal))
    chain.install("authn", Tag("authn", journal))
    chain.install("deadline", Step("deadline", journal))
    chain.install("validation", Step("validation", journal))

    async def handler(ctx: CallContext) -> str:
        journal.append("handler")
        return "done"

    assert await chain.wrap(handler)(_ctx()) == "done"
    outer = ["request_id", "recovery", "tracing", "metrics", "logging"]
    assert journal == [
        *(f">{s}" for s in outer),
        ">user1",
        ">user2",
        ">authn",
        ">deadline",
        ">validation",
        "handler",
        "<validation:ok",
        "<deadline:ok",
        "<authn",
        "<user2",
        "<user1",
        *(f"<{s}:ok" for s in reversed(outer)),
    ]


async def test_a_run_of_stages_is_one_step() -> None:
    """Seven stages cost one coroutine frame, not seven; a plain interceptor
    between them splits the run in two and keeps its own frame."""
    journal: list[str] = []
    stages = [Step(str(i), journal) for i in range(7)]
    seen: list[tuple[int, int]] = []

    async def handler(ctx: CallContext) -> None:
        seen.append((_frames("step"), _frames("intercept")))

    await compose(stages, handler)(_ctx())
    await compose([*stages[:5], Tag("user", journal), *stages[5:]], handler)(_ctx())
    assert seen == [(1, 0), (2, 1)]


async def test_an_exception_is_seen_inside_out_and_replaced_for_the_outer_stages() -> None:
    """Inner stages and interceptors see the handler's error; a stage that
    translates it hands the outer ones (and the caller) the replacement,
    caused by the original."""
    journal: list[str] = []

    async def handler(ctx: CallContext) -> None:
        raise ValueError("boom")

    call = compose(
        [Step("outer", journal), Translate(), Tag("user", journal), Step("inner", journal)], handler
    )
    with pytest.raises(LookupError) as raised:
        await call(_ctx())
    assert isinstance(raised.value.__cause__, ValueError)
    assert journal == [">outer", ">user", ">inner", "<inner:ValueError", "<outer:LookupError"]


async def test_a_stage_whose_enter_fails_is_not_exited_nor_the_rest_run() -> None:
    """As raising before call_next: the outer stages exit with the error,
    the failing stage and everything inside it never run."""
    journal: list[str] = []
    ran: list[str] = []

    async def handler(ctx: CallContext) -> None:
        ran.append("handler")

    call = compose(
        [Step("a", journal), Step("b", journal, enter_fails=True), Step("c", journal)],
        handler,
    )
    with pytest.raises(KeyError):
        await call(_ctx())
    assert journal == [">a", ">b", "<a:KeyError"]
    assert ran == []


async def test_an_exit_that_raises_fails_the_call_for_the_outer_stages() -> None:
    """An exception raised by an exit is what the stages outside it see."""
    journal: list[str] = []

    class Broken(Stage):
        def exit(self, ctx: CallContext, state: Any, failure: BaseException | None) -> BaseException | None:
            raise RuntimeError("exit failed")

    async def handler(ctx: CallContext) -> str:
        return "done"

    with pytest.raises(RuntimeError, match="exit failed"):
        await compose([Step("outer", journal), Broken()], handler)(_ctx())
    assert journal == [">outer", "<outer:RuntimeError"]


async def test_a_stage_runs_alone_through_intercept() -> None:
    """Outside a chain, a stage's intercept runs its two halves around call_next."""
    journal: list[str] = []

    async def handler(ctx: CallContext) -> str:
        journal.append("handler")
        return "done"

    assert await Step("alone", journal).intercept(_ctx(), handler) == "done"
    assert journal == [">alone", "handler", "<alone:ok"]
