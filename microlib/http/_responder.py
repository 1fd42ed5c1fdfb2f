"""Write responses straight to ASGI ``send``: the hot path has no Response objects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from microlib.core.context import CallContext

__all__ = ["Headers", "Send", "carries_content", "response_headers", "response_start", "send_bytes"]

Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = Sequence[tuple[bytes, bytes]]


async def send_bytes(
    send: Send, status: int, body: bytes, media_type: str | None, headers: Headers = ()
) -> None:
    """Send a complete response.

    Args:
        send: The ASGI send callable.
        status: The HTTP status.
        body: The payload.
        media_type: Its content type, if there is a body.
        headers: Extra headers (lower-case names).
    """
    await send(response_start(status, body, media_type, headers))
    await send({"type": "http.response.body", "body": body})


def response_start(status: int, body: bytes, media_type: str | None, headers: Headers) -> dict[str, Any]:
    """The start message of :func:`send_bytes`: for the hot path to send the two
    messages itself, without a coroutine of this module's in between."""
    if status >= 200 and status != 204 and status != 304:
        raw = [(b"content-length", str(len(body)).encode()), *headers]
    else:
        # RFC 9110 8.6: no Content-Length on a 1xx or 204; on a 304 only the 200's, not known here.
        raw = [*headers]
    if media_type is not None and body:
        raw.append((b"content-type", media_type.encode()))
    return {"type": "http.response.start", "status": status, "headers": raw}


def carries_content(status: int) -> bool:
    """Whether a response of ``status`` may carry content: never a 1xx, 204, 205 or 304
    (RFC 9110 6.4.1 and 15.3.6), whatever a handler returned with it."""
    return not (status < 200 or status in (204, 205, 304))


def response_headers(ctx: CallContext) -> list[tuple[bytes, bytes]]:
    """The call's response metadata, then its trailers, as raw headers.

    HTTP/1.1 responses carry no trailers, so both go out before the body.
    A value beyond Latin-1 goes out as its UTF-8 octets (HTTP's opaque
    ``obs-text``) rather than failing the response.
    """
    headers = []
    # The ASCII test written in each loop: a call less per header.
    for k, v in ctx.response_metadata.items():
        headers.append((k.encode("latin-1"), v.encode("latin-1") if v.isascii() else _beyond_ascii(v)))
    if ctx.response_trailers:
        for k, v in ctx.response_trailers.items():
            headers.append((k.encode("latin-1"), v.encode("latin-1") if v.isascii() else _beyond_ascii(v)))
    return headers


def _beyond_ascii(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")
