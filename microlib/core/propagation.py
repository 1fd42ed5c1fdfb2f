"""What an outgoing message or job carries from the call that sends it.

The messaging publisher and the job enqueuer call :meth:`Propagation.inject`
with the headers they are about to send and the content those headers travel
with; each injector a concern registered adds its own, reading the sending
call from ``current_context()`` (None outside any call: a scheduled tick, a
start-up task). Security adds the signed principal, bound to the content
(docs/security.md, "Messages and jobs"); the transports never learn what the
headers mean. :func:`carried_content` gives the receiving side the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from microlib.core.context import CallContext, current_context

__all__ = ["Injector", "Propagation", "carried_content", "job_content"]

Injector = Callable[[CallContext | None, dict[str, str], bytes], None]
"""Adds headers for the sending call (None outside any call) and the content they travel with."""


class Propagation:
    """The injectors of one service, run in the order they were added."""

    def __init__(self) -> None:
        self._injectors: list[Injector] = []

    def add(self, injector: Injector) -> None:
        """Run ``injector`` for every message published and job enqueued from now on."""
        self._injectors.append(injector)

    @property
    def active(self) -> bool:
        """Whether any injector is registered (else computing the content is wasted)."""
        return bool(self._injectors)

    def inject(self, headers: dict[str, str], content: bytes) -> None:
        """Add every injector's headers to ``headers``, for the current call.

        Args:
            headers: The outgoing headers, changed in place.
            content: What they travel with: a message's encoded body, or
                :func:`job_content` of a job.
        """
        if self._injectors:
            ctx = current_context()
            for injector in self._injectors:
                injector(ctx, headers, content)


def job_content(job: str, payload: Mapping[str, Any]) -> bytes:
    """The content a job's headers travel with: its name and its JSON payload, keys sorted.

    The same on the enqueuing and the running side, whatever broker carried
    the payload (a JSON round trip keeps it).
    """
    document = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return f"{job}\n{document}".encode()


def carried_content(ctx: CallContext) -> bytes | None:
    """What a received message's or job's headers travel with; None for other calls.

    A message's body before decoding (the chain decides before the payload is
    decoded), or :func:`job_content` of a job run.
    """
    if ctx.kind == "message" and isinstance(ctx.request, bytes):
        return ctx.request
    if ctx.kind == "job" and isinstance(ctx.request, Mapping):
        return job_content(ctx.method, ctx.request)
    return None
