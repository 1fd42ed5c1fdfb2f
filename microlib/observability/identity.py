"""Who is emitting telemetry: the service identity on every log, metric and span."""

from __future__ import annotations

import contextvars
import os
import socket
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

__all__ = ["ServiceIdentity"]


@dataclass(frozen=True, slots=True)
class ServiceIdentity:
    """The service instance that logs, spans and metrics are attributed to.

    Args:
        name: The service name (``orders``).
        version: The deployed version (``1.4.2``).
        environment: Where it runs (``production``, ``development``).
        instance_id: This process; defaults to ``hostname-pid-random``.
    """

    name: str
    version: str = "0.0.0"
    environment: str = "development"
    instance_id: str = ""

    def __post_init__(self) -> None:
        if not self.instance_id:
            unique = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
            object.__setattr__(self, "instance_id", unique)

    def as_fields(self) -> dict[str, str]:
        """The identity as log fields (``service``, ``version``, ``env``, ``instance``)."""
        return {
            "service": self.name,
            "version": self.version,
            "env": self.environment,
            "instance": self.instance_id,
        }


@dataclass(frozen=True, slots=True)
class _Serving:
    """The service handling the current call: its identity, and the tracer its spans start from."""

    identity: ServiceIdentity
    tracer: Tracer


class _Bound(Protocol):
    """What a call binds: a :class:`_Serving`, or the HTTP edge's request record, which carries both."""

    @property
    def identity(self) -> ServiceIdentity:
        """The service's identity."""

    @property
    def tracer(self) -> Tracer:
        """The tracer its spans start from."""


# Several services may share one process (tests, sidecars): the service
# handling the current call wins over the process default. Identity and
# tracer are bound together (with the HTTP edge's record of the request, when
# it binds them), one context variable per call instead of two or three.
_current: contextvars.ContextVar[_Bound | None] = contextvars.ContextVar("microlib_serving", default=None)
_default: list[ServiceIdentity] = []


def _set_default_identity(identity: ServiceIdentity) -> None:
    _default[:] = [identity]


def _active_identity() -> ServiceIdentity | None:
    serving = _current.get()
    if serving is not None:
        return serving.identity
    return _default[0] if _default else None


def _serving_tracer() -> Tracer | None:
    """The tracer of the service handling the current call, if any."""
    serving = _current.get()
    return serving.tracer if serving is not None else None
