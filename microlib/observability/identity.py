"""Who is emitting telemetry: the service identity on every log, metric and span."""

from __future__ import annotations

import contextvars
import os
import socket
import uuid
from dataclasses import dataclass

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


# Several services may share one process (tests, sidecars): the identity of the
# service handling the current call wins over the process default.
_current: contextvars.ContextVar[ServiceIdentity | None] = contextvars.ContextVar(
    "microlib_service_identity", default=None
)
_default: list[ServiceIdentity] = []


def _bind_identity(identity: ServiceIdentity) -> contextvars.Token[ServiceIdentity | None]:
    return _current.set(identity)


def _unbind_identity(token: contextvars.Token[ServiceIdentity | None]) -> None:
    _current.reset(token)


def _set_default_identity(identity: ServiceIdentity) -> None:
    _default[:] = [identity]


def _active_identity() -> ServiceIdentity | None:
    identity = _current.get()
    if identity is not None:
        return identity
    return _default[0] if _default else None
