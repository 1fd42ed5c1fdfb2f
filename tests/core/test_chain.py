"""The interceptor chain: order, slots, context binding."""

from __future__ import annotations

from typing import Any

import pytest

from microlib.core.chain import Chain, compose
from microlib.core.context import CallContext, Rejected, current_context
from microlib.core.errors import InvalidArgument


class Tag:
    """Records its name before and after the rest of the chain."""

    def __init__(self, name: str, journal: list[str]) -> None:
        self.name = name
        self.journal = journal

    async def intercept(self, ctx: CallContext, call_next: Any) -> Any:
        self.journal.append(f">{self.name}")
        result = await call_next(ctx)
        self.journal.append(f"<{self.name}")
        return result


def _ctx() -> CallContext:
    return CallContext(kind="http", service="http", method="/x")


async def test_first_interceptor_runs_outermost() -> None:
    """compose() wraps so that the list's first item sees the call first."""
    journal: list[str] = []

    async def handler(ctx: CallContext) -> str:
        journal.append("handler")
        return "ok"

    call = compose([Tag("a", journal), Tag("b", journal)], handler)
    assert await call(_ctx()) == "ok"
    assert journal == [">a", ">b", "handler", "<b", "<a"]


async def test_slots_order_framework_around_user_interceptors() -> None:
    """Framework slots keep their fixed places around the user's list."""
    journal: list[str] = []
    chain = Chain([Tag("user1", journal), Tag("user2", journal)])
    chain.install("validation", Tag("validation", journal))
    chain.install("recovery", Tag("recovery", journal))
    chain.install("authn", Tag("authn", journal))

    async def handler(ctx: CallContext) -> None:
        journal.append("handler")

    await chain.wrap(handler)(_ctx())
    assert journal[:6] == [">recovery", ">user1", ">user2", ">authn", ">validation", "handler"]


async def test_disabled_slot_is_skipped_and_unknown_slots_are_rejected() -> None:
    """A disabled slot contributes nothing; a typo in a slot name is an error."""
    journal: list[str] = []
    chain = Chain(disabled=["tracing"])
    chain.install("tracing", Tag("tracing", journal))
    assert chain.interceptors == []
    with pytest.raises(ValueError, match="unknown chain slot 'tracng'"):
        chain.install("tracng", Tag("x", journal))
    with pytest.raises(ValueError, match="unknown chain slot"):
        Chain(disabled=["nope"])


def test_installed_names_slots_that_will_run() -> None:
    """installed() is true for a filled, enabled slot only; a typo in the name is an error."""
    chain = Chain(disabled=["tracing"])
    chain.install("tracing", Tag("tracing", []))
    chain.install("authz", Tag("authz", []))
    assert (chain.installed("authz"), chain.installed("tracing"), chain.installed("authn")) == (
        True,
        False,
        False,
    )
    with pytest.raises(ValueError, match="unknown chain slot 'athz'"):
        chain.installed("athz")


async def test_rejected_request_is_raised_after_every_interceptor() -> None:
    """A request the door could not decode reaches every interceptor, then raises its error
    in place of the handler, which never runs."""
    journal: list[str] = []

    async def handler(ctx: CallContext) -> None:
        journal.append("handler")

    ctx = _ctx()
    ctx.request = Rejected(InvalidArgument("body: malformed JSON"))
    with pytest.raises(InvalidArgument, match="malformed JSON"):
        await compose([Tag("authn", journal), Tag("authz", journal)], handler)(ctx)
    assert journal == [">authn", ">authz"]


async def test_context_is_bound_for_the_call_only() -> None:
    """current_context() returns the call's context inside it and None after."""
    seen: list[CallContext | None] = []

    async def handler(ctx: CallContext) -> None:
        seen.append(current_context())

    ctx = _ctx()
    await compose([], handler)(ctx)
    assert seen == [ctx]
    assert current_context() is None
