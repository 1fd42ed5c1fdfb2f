"""Stages fused into one step: the same order and outcomes as nested interceptors, fewer frames."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from typing import Any

import pytest
from structlog.testing import capture_logs

from microlib.core.chain import Chain, Stage, compose
from microlib.core.context import CallContext
from microlib.grpc.deadline import DeadlineInterceptor
from microlib.observability.recovery import RecoveryInterceptor
from microlib.observability.requestid import RequestIdInterceptor
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


async def test_the_chains_own_stages_written_in_behave_as_their_methods() -> None:
    """The binding and the rejection check, written into the step as statements,
    against the same stages called through their methods: the same journal,
    outcome, current context and exception, whichever stage fails where."""
    from microlib.core.chain import _ACCEPTING, _BINDING, _Accepting, _Binding, _fuse
    from microlib.core.context import Rejected, current_context
    from microlib.core.errors import InvalidArgument

    outcomes = ("ok", "raises", "rejected", "enter fails", "exit fails")

    async def run(outcome: str, binding: Stage, accepting: Stage) -> tuple[list[str], str]:
        journal: list[str] = []

        class Broken(Stage):
            def exit(self, ctx: CallContext, state: Any, failure: BaseException | None) -> None:
                journal.append(f"broken saw {type(failure).__name__}")
                raise RuntimeError("exit failed")

        async def handler(ctx: CallContext) -> str:
            journal.append(f"handler bound={current_context() is ctx}")
            if outcome == "raises":
                raise ValueError("boom")
            return "done"

        inner: list[Stage] = [Step("a", journal, enter_fails=outcome == "enter fails")]
        if outcome == "exit fails":
            inner.insert(0, Broken())
        ctx = _ctx()
        if outcome == "rejected":
            ctx.request = Rejected(InvalidArgument("bad"))
        step = _fuse((binding, Step("outer", journal), *inner, accepting), handler)
        try:
            result = await step(ctx)
        except BaseException as exc:
            result = f"{type(exc).__name__}: {exc}"
        journal.append(f"after bound={current_context() is not None}")
        return journal, result

    for outcome in outcomes:
        written_in = await run(outcome, _BINDING, _ACCEPTING)
        called = await run(outcome, _Binding(), _Accepting())
        assert written_in == called, outcome


async def test_a_stage_with_no_step_for_a_kind_is_left_out_of_that_kinds_chain() -> None:
    """The metrics stage has no step for HTTP: the HTTP chain runs without it, and
    every other stage, in order, as the chain composed without kinds does."""
    journal: list[str] = []

    class GrpcOnly(Step):
        def for_kind(self, kind: str) -> Stage | None:
            return self if kind == "grpc" else None

    chain = Chain()
    chain.install("request_id", Step("request_id", journal))
    chain.install("metrics", GrpcOnly("metrics", journal))
    chain.install("deadline", Step("deadline", journal))

    async def handler(ctx: CallContext) -> str:
        journal.append(ctx.kind)
        return "done"

    call = chain.wrap(handler)
    await call(CallContext(kind="http", service="s", method="m"))
    await call(_ctx())
    await call(CallContext(kind="http", service="s", method="m"))
    http = [">request_id", ">deadline", "http", "<deadline:ok", "<request_id:ok"]
    grpc = [">request_id", ">metrics", ">deadline", "grpc", "<deadline:ok", "<metrics:ok", "<request_id:ok"]
    assert journal == [*http, *grpc, *http]


@pytest.mark.parametrize("kind", ["http", "grpc", "message", "job"])
async def test_the_metrics_stage_for_a_kind_records_as_the_full_stage(kind: str) -> None:
    """The metrics interceptor's step for each kind (none for HTTP) against the
    interceptor run alone: the same samples once a call has run."""
    import io

    from microlib.config.model import Settings
    from microlib.observability import Observability, ServiceIdentity
    from microlib.observability.interceptors import MetricsInterceptor

    def samples(obs: Observability) -> list[tuple[str, dict[str, str], float]]:
        found = []
        for family in obs.metrics.registry.collect():
            for sample in family.samples:
                if sample.name.startswith(
                    ("rpc_", "messaging_", "job_", "http_")
                ) and not sample.name.endswith("_created"):
                    value = (
                        0.0
                        if "duration" in sample.name and not sample.name.endswith("_count")
                        else sample.value
                    )
                    found.append((sample.name, dict(sample.labels), value))
        return found

    async def handler(ctx: CallContext) -> str:
        return "done"

    recorded = []
    for specialized in (True, False):
        obs = Observability(Settings(), ServiceIdentity("svc"), log_stream=io.StringIO())
        stage = MetricsInterceptor(obs)
        ctx = CallContext(kind=kind, service="s", method="m")  # type: ignore[arg-type]
        if specialized:
            await compose([stage], handler, kind)(ctx)
        else:
            await stage.intercept(ctx, handler)
        recorded.append(samples(obs))
    assert recorded[0] == recorded[1]


class Promising(Stage):
    """Records every exit; enters with None for the names in ``stateless``."""

    def __init__(self, name: str, journal: list[str], *, stateless: bool) -> None:
        self.name = name
        self.journal = journal
        self.stateless = stateless

    def enter(self, ctx: CallContext) -> str | None:
        return None if self.stateless else self.name

    def exit(self, ctx: CallContext, state: Any, failure: BaseException | None) -> None:
        self.journal.append(f"<{self.name}:{state}:{'ok' if failure is None else type(failure).__name__}")


class NeedsState(Promising):
    exit_needs_state = True


class NeedsFailure(Promising):
    exit_needs_failure = True


class NeedsBoth(Promising):
    exit_needs_state = True
    exit_needs_failure = True


class NeedsEither(Promising):
    exit_needs_state_or_failure = True


@pytest.mark.parametrize("fails", [False, True])
@pytest.mark.parametrize("stateless", [False, True])
async def test_an_exit_is_skipped_only_where_its_stage_promises_it_does_nothing(
    fails: bool, stateless: bool
) -> None:
    """A stage promising its exit needs a state (or a failure, or either) is
    exited exactly when it has one; a stage without promises always."""
    journal: list[str] = []

    async def handler(ctx: CallContext) -> None:
        if fails:
            raise ValueError("boom")

    kinds = (Promising, NeedsState, NeedsFailure, NeedsBoth, NeedsEither)
    call = compose([kind(kind.__name__, journal, stateless=stateless) for kind in kinds], handler)
    if fails:
        with pytest.raises(ValueError):
            await call(_ctx())
    else:
        await call(_ctx())
    outcome = "ValueError" if fails else "ok"
    exited = ["NeedsEither", "NeedsBoth", "NeedsFailure", "NeedsState", "Promising"]
    if stateless:
        exited = [name for name in exited if name not in ("NeedsBoth", "NeedsState")]
    if not fails:
        exited = [name for name in exited if name not in ("NeedsBoth", "NeedsFailure")]
    if stateless and not fails:
        exited.remove("NeedsEither")
    state = (lambda name: None) if stateless else (lambda name: name)
    assert journal == [f"<{name}:{state(name)}:{outcome}" for name in exited]


async def test_the_framework_stages_exits_do_nothing_where_they_promise_it() -> None:
    """Request id and deadline with no state, recovery after a success: no
    change to the context, no log line, no replacement, whatever else they are given."""
    cases: list[tuple[Stage, Any, BaseException | None]] = [
        (RequestIdInterceptor(), None, None),
        (RequestIdInterceptor(), None, ValueError("boom")),
        (DeadlineInterceptor(), None, None),
        (DeadlineInterceptor(), None, asyncio.CancelledError()),
        (RecoveryInterceptor(), None, None),
    ]
    for stage, state, failure in cases:
        ctx = _ctx()
        before = dataclasses.astuple(ctx)
        with capture_logs() as lines:
            assert stage.exit(ctx, state, failure) is None
        assert (dataclasses.astuple(ctx), lines) == (before, []), (stage, state, failure)


class NeedsDeadline(Stage):
    """Promises its enter does nothing without a deadline; records the calls it gets."""

    enter_needs = "deadline"

    def __init__(self, journal: list[str]) -> None:
        self.journal = journal

    def enter(self, ctx: CallContext) -> str:
        self.journal.append(f">{ctx.deadline}")
        return "armed"

    def exit(self, ctx: CallContext, state: Any, failure: BaseException | None) -> None:
        self.journal.append(f"<{state}")


@pytest.mark.parametrize("deadline", [None, 12.5])
async def test_an_enter_is_skipped_only_while_the_field_its_stage_names_is_none(
    deadline: float | None,
) -> None:
    """A stage promising its enter needs a field is entered exactly when the call has it,
    and exited with None for a state when it was not."""
    journal: list[str] = []

    async def handler(ctx: CallContext) -> str:
        journal.append("handler")
        return "done"

    ctx = _ctx()
    ctx.deadline = deadline
    assert await compose([NeedsDeadline(journal)], handler)(ctx) == "done"
    assert journal == (["handler", "<None"] if deadline is None else [">12.5", "handler", "<armed"])


def test_the_deadline_stage_does_nothing_without_a_deadline() -> None:
    """The deadline stage's promise holds: entered without a deadline, it arms nothing."""
    stage = DeadlineInterceptor()
    assert stage.enter_needs == "deadline"
    ctx = _ctx()
    before = dataclasses.astuple(ctx)
    assert stage.enter(ctx) is None
    assert dataclasses.astuple(ctx) == before
