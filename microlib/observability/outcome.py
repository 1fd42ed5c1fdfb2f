"""How a call ended, in the vocabulary shared by logs, metrics and spans."""

from __future__ import annotations

import asyncio

from microlib.core.errors import Code, Error

__all__ = ["SERVER_FAULTS", "outcome_code", "server_fault"]

SERVER_FAULTS = frozenset(
    {
        Code.UNKNOWN,
        Code.DEADLINE_EXCEEDED,
        Code.UNIMPLEMENTED,
        Code.INTERNAL,
        Code.UNAVAILABLE,
        Code.DATA_LOSS,
    }
)
"""Codes that mean the server failed (an error span, an error log line), not the caller."""


def outcome_code(exc: BaseException | None) -> str:
    """The canonical code name of a call's result: ``OK``, ``NOT_FOUND``, ``INTERNAL``...

    Args:
        exc: What the call raised, or None when it returned.
    """
    if exc is None:
        return "OK"
    if isinstance(exc, Error):
        return exc.code.name
    if isinstance(exc, asyncio.CancelledError):
        return Code.CANCELLED.name
    return Code.INTERNAL.name


def server_fault(exc: BaseException | None) -> bool:
    """Whether ``exc`` is the server's fault (any non-``Error`` exception or a server code)."""
    if exc is None or isinstance(exc, asyncio.CancelledError):
        return False
    return not isinstance(exc, Error) or exc.code in SERVER_FAULTS
