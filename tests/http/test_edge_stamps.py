"""The edge stamps responses as ``with_headers`` would: its shortcut against the general rule."""

from __future__ import annotations

import itertools
from typing import Any

from microlib.http.middleware import with_headers
from microlib.observability._exchange import _Exchange, _Stamps

_ADDED = [
    [],
    [(b"x-frame-options", b"DENY")],
    [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")],
    [(b"x-frame-options", b"DENY"), (b"x-frame-options", b"SAMEORIGIN")],
    [(b"x-request-id", b"from-the-added")],
]
# Headers a response may set itself: the edge's own names too, in any case.
_OWN = [
    (b"content-length", b"2"),
    (b"x-request-id", b"the-handler's"),
    (b"X-Request-ID", b"shouted"),
    (b"x-frame-options", b"ALLOW"),
    (b"Referrer-Policy", b"origin"),
    (b"content-type", b"application/json"),
]


async def test_stamped_headers_match_with_headers_for_every_combination() -> None:
    for added, size in itertools.product(_ADDED, range(4)):
        for own in itertools.permutations(_OWN, size):
            for container in (list, tuple):
                start = {"type": "http.response.start", "status": 200, "headers": container(own)}
                sent: list[dict[str, Any]] = []
                exchange = _Exchange(None, "req-1", None, None)  # type: ignore[arg-type]
                exchange.wire_send = _keeping(sent)
                exchange.stamps = _Stamps(added, frozenset(name for name, _ in added))
                await exchange.send(dict(start))
                expected = with_headers(start, [*added, (b"x-request-id", b"req-1")])
                assert sent == [expected], (added, own)
                assert exchange.status == 200


async def test_a_start_without_headers_gets_the_stamps() -> None:
    sent: list[dict[str, Any]] = []
    exchange = _Exchange(None, "req-2", None, None)  # type: ignore[arg-type]
    exchange.wire_send = _keeping(sent)
    await exchange.send({"type": "http.response.start", "status": 204})
    assert sent == [
        with_headers({"type": "http.response.start", "status": 204}, [(b"x-request-id", b"req-2")])
    ]


def _keeping(sent: list[dict[str, Any]]) -> Any:
    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return send


async def test_the_record_hands_the_app_the_servers_own_awaitable() -> None:
    """Each message's send is the server's own coroutine, its bytes and status recorded
    first: no coroutine of the record's between the app and the server."""
    sent: list[dict[str, Any]] = []
    exchange = _Exchange(None, "req-3", None, None)  # type: ignore[arg-type]
    exchange.wire_send = _keeping(sent)
    start = exchange.send({"type": "http.response.start", "status": 201})
    assert start.cr_code is exchange.wire_send.__code__  # type: ignore[attr-defined]
    assert exchange.status == 201
    await start
    body = exchange.send({"type": "http.response.body", "body": b"four"})
    assert body.cr_code is exchange.wire_send.__code__  # type: ignore[attr-defined]
    assert exchange.sent == 4
    await body
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
