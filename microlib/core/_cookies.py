"""The cookies of a call, read from its ``Cookie`` header.

The HTTP door reads an OpenAPI operation's cookie parameters with it, and
security an ``apiKey`` scheme's cookie from the call's metadata: one rule of
what a cookie is, in the kernel below both.
"""

from __future__ import annotations

__all__ = ["split_cookies"]


def split_cookies(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header into name -> value (the first one wins).

    Args:
        header: The header's value.

    Returns:
        The cookies.
    """
    out: dict[str, str] = {}
    for chunk in header.split(";"):
        name, sep, value = chunk.strip().partition("=")
        if sep and name not in out:
            out[name] = value.strip('"')
    return out
