"""Propagation: the headers a message or job carries from the call that sends it."""

from __future__ import annotations

from typing import Any

from microlib.core import CallContext, Propagation, carried_content, compose, job_content


async def test_injectors_see_the_sending_call_and_the_content() -> None:
    """Each injector gets the current call (None outside any) and the content, in order."""
    propagation = Propagation()
    assert not propagation.active
    propagation.inject({}, b"nobody listens")
    seen: list[tuple[str | None, bytes]] = []

    def first(ctx: CallContext | None, headers: dict[str, str], content: bytes) -> None:
        seen.append((ctx.full_method if ctx else None, content))
        headers["x-first"] = "1"

    def second(ctx: CallContext | None, headers: dict[str, str], content: bytes) -> None:
        headers["x-second"] = headers["x-first"] + "2"

    propagation.add(first)
    propagation.add(second)
    outside: dict[str, str] = {}
    propagation.inject(outside, b"body")

    async def handler(ctx: CallContext) -> Any:
        inside: dict[str, str] = {}
        propagation.inject(inside, b"reply")
        return inside

    inside = await compose([], handler)(CallContext("http", "shop", "PlaceOrder"))
    assert propagation.active
    assert outside == inside == {"x-first": "1", "x-second": "12"}
    assert seen == [(None, b"body"), ("shop/PlaceOrder", b"reply")]


def test_the_content_is_the_same_on_both_sides() -> None:
    """A message's body as is; a job's name and payload, keys sorted, whatever their order;
    nothing for a call of another kind."""
    payload = {"order_id": "o-1", "lines": [{"sku": "b", "qty": 2}], "note": "é"}
    reordered = {"note": "é", "lines": [{"qty": 2, "sku": "b"}], "order_id": "o-1"}
    sent = job_content("send_receipt", payload)
    received = CallContext("job", "shop.jobs", "send_receipt", request=reordered)
    assert carried_content(received) == sent
    assert sent.startswith(b"send_receipt\n{")
    assert carried_content(CallContext("message", "Orders", "onOrder", request=b"\x00raw")) == b"\x00raw"
    assert carried_content(CallContext("http", "http", "/orders", request=b"body")) is None
    assert carried_content(CallContext("job", "shop.jobs", "send_receipt", request=None)) is None
