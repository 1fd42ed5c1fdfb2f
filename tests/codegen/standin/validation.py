"""Stand-in for ``microlib.grpc.validation`` until the gRPC runtime branch is merged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["make_validator"]


def make_validator(message_class: Any, to_upb: Callable[[Any], Any]) -> Callable[[Any], None]:
    """Only converts (the real one runs protovalidate and REQUIRED checks)."""

    def validate(message: Any) -> None:
        to_upb(message)

    return validate
