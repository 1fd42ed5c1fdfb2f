"""Write responses straight to ASGI ``send``: the hot path has no Response objects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from microlib.core.context import CallContext

__all__ = ["Headers", "Send", "response_headers", "send_bytes"]

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
    raw = [(b"content-length", str(len(body)).encode()), *headers]
    if media_type is not None and body:
        raw.append((b"content-type", media_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def response_headers(ctx: CallContext) -> list[tuple[bytes, bytes]]:
    """The call's response metadata, then its trailers, as raw headers.

    HTTP/1.1 responses carry no trailers, so both go out before the body.
    A value beyond Latin-1 goes out as its UTF-8 octets (HTTP's opaque
    ``obs-text``) rather than failing the response.
    """
    headers = []
    for k, v in ctx.response_metadata.items():
        headers.append((k.encode("latin-1"), _octets(v)))
    if ctx.response_trailers:
        for k, v in ctx.response_trailers.items():
            headers.append((k.encode("latin-1"), _octets(v)))
    return headers


def _octets(value: str) -> bytes:
    return value.encode("latin-1") if value.isascii() else _beyond_ascii(value)


def _beyond_ascii(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")
