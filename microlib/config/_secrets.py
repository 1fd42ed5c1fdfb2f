"""Which values are secrets, and how they are shown."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from microlib.config._schema import is_secret_type

__all__ = ["MASK", "is_secret", "is_secret_name"]

MASK = "**********"

_WORDS = re.compile(r"[a-z0-9]+")
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "key",
        "keys",
        "apikey",
        "credential",
        "credentials",
        "dsn",
    }
)
_SECRET_SUFFIXES = ("password", "passwd", "secret", "token", "apikey")


def is_secret_name(key: str) -> bool:
    """Whether a key looks like it holds a secret (``db_password``, ``api-key``, ``authToken``)."""
    words = _WORDS.findall(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower())
    return any(word in _SECRET_WORDS or word.endswith(_SECRET_SUFFIXES) for word in words)


def is_secret(
    model: type[BaseModel], path: tuple[str | int, ...], value: Any, sensitive: bool = False
) -> bool:
    """Whether the value at ``path`` must be masked.

    It must when a sensitive resolver produced it, when the field is a
    ``SecretStr``/``SecretBytes``, or when a key on its path is named like a
    secret and the value is text (flags and numbers under such a name stay
    visible).
    """
    if value is None:
        return False
    if sensitive or isinstance(value, SecretStr | SecretBytes) or is_secret_type(model, path):
        return True
    if isinstance(value, bool | int | float):
        return False
    return any(isinstance(key, str) and is_secret_name(key) for key in path)
