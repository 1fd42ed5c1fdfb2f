"""A transcoded request's body however the server hands it over: one message, several, or none."""

from __future__ import annotations

import itertools
import json
from typing import Any

from tests.http.conftest import Recorder
from tests.http.rpc.harness import library_app

_BODY = json.dumps({"title": "Emma", "priceCents": "1250", "format": "FORMAT_EBOOK"}).encode()


async def _answer(app: Any, messages: list[dict[str, Any]]) -> tuple[int, bytes]:
    """Status and body of a POST of ``messages`` to a ``body: "*"`` rule."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http",
        "method": "POST",
        "path": "/v1/shelves/s9/books",
        "raw_path": b"/v1/shelves/s9/books",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    pending = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, *bodies = sent
    return start["status"], b"".join(m.get("body", b"") for m in bodies)


def _pieces(*cuts: int) -> list[dict[str, Any]]:
    """The body cut at ``cuts``: one message per piece, each but the last saying more follows."""
    edges = [0, *cuts, len(_BODY)]
    pieces = [_BODY[a:b] for a, b in itertools.pairwise(edges)]
    return [
        {"type": "http.request", "body": piece, "more_body": index < len(pieces) - 1}
        for index, piece in enumerate(pieces)
    ]


async def test_a_body_in_several_messages_reads_as_one() -> None:
    http, _ = library_app(Recorder())
    whole = await _answer(http.app, _pieces())
    assert whole[0] == 200
    assert json.loads(whole[1])["title"] == "Emma"
    for cuts in ((5,), (1, 9, 20), (len(_BODY),)):
        assert await _answer(http.app, _pieces(*cuts)) == whole, cuts


async def test_a_client_gone_before_its_body_is_answered_cancelled() -> None:
    http, _ = library_app(Recorder())
    status, body = await _answer(http.app, [{"type": "http.disconnect"}])
    assert (status, json.loads(body)["code"]) == (499, "CANCELLED")
    status, body = await _answer(http.app, [*_pieces(5)[:1], {"type": "http.disconnect"}])
    assert (status, json.loads(body)["code"]) == (499, "CANCELLED")
