"""How a call ended, in the vocabulary shared by logs, metrics and spans."""

from __future__ import annotations

import asyncio

from microlib.core.errors import CANCELLED_BY_DEADLINE, CANCELLED_BY_SHUTDOWN, Code, Error

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
        return _cancellation_code(exc).name
    signalled = _signal_code(exc)
    return Code.INTERNAL.name if signalled is None else signalled.name


def server_fault(exc: BaseException | None) -> bool:
    """Whether ``exc`` is the server's fault (any non-``Error`` exception or a server code).

    A control-flow signal that carries a ``code`` (messaging's ``Reject``)
    counts by that code.
    """
    if exc is None:
        return False
    if isinstance(exc, asyncio.CancelledError):
        return _cancellation_code(exc) in SERVER_FAULTS
    if isinstance(exc, Error):
        return exc.code in SERVER_FAULTS
    signalled = _signal_code(exc)
    return signalled is None or signalled in SERVER_FAULTS


def _cancellation_code(exc: asyncio.CancelledError) -> Code:
    # The framework says why it cancels a call (a time budget, the drain);
    # any other cancellation is the caller's (a client gone).
    reason = exc.args[0] if exc.args else None
    if reason == CANCELLED_BY_DEADLINE:
        return Code.DEADLINE_EXCEEDED
    if reason == CANCELLED_BY_SHUTDOWN:
        return Code.UNAVAILABLE
    return Code.CANCELLED


def _signal_code(exc: BaseException) -> Code | None:
    # A control-flow signal outside the Exception tree (messaging's Reject)
    # says which code it stands for; an ordinary exception never does.
    code = getattr(exc, "code", None) if not isinstance(exc, Exception) else None
    return code if isinstance(code, Code) else None
