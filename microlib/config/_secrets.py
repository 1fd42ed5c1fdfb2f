"""Which values are secrets, and how they are shown."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from microlib.config._schema import is_declared_not_secret, is_secret_type

__all__ = ["MASK", "is_secret", "is_secret_name", "mask_secrets", "mask_url_passwords"]

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
# The password of a URL's userinfo, `scheme://user:PASSWORD@host`, whatever the key holding it.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*:)[^@/\s]+(?=@)")


def is_secret_name(key: str) -> bool:
    """Whether a key looks like it holds a secret (``db_password``, ``api-key``, ``authToken``)."""
    words = _WORDS.findall(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower())
    return any(word in _SECRET_WORDS or word.endswith(_SECRET_SUFFIXES) for word in words)


def mask_url_passwords(text: str) -> str:
    """``text`` with the password of every URL in it masked: ``amqp://guest:**********@rabbit/``."""
    return _URL_PASSWORD.sub(lambda match: match["head"] + MASK, text)


def is_secret(
    model: type[BaseModel], path: tuple[str | int, ...], value: Any, sensitive: bool = False
) -> bool:
    """Whether the value at ``path`` must be masked.

    It must when a sensitive resolver produced it, when the field is a
    ``SecretStr``/``SecretBytes``, or when a key on its path is named like a
    secret and the value is text (flags and numbers under such a name stay
    visible) and the field is not marked ``NotSecret()``.
    """
    if value is None:
        return False
    if sensitive or isinstance(value, SecretStr | SecretBytes) or is_secret_type(model, path):
        return True
    if isinstance(value, bool | int | float) or is_declared_not_secret(model, path):
        return False
    return any(isinstance(key, str) and is_secret_name(key) for key in path)


def mask_secrets(
    model: type[BaseModel], path: tuple[str | int, ...], value: Any, sensitive: bool = False
) -> Any:
    """``value`` with :data:`MASK` in place of every secret in it, at any depth.

    A list item and a mapping inside one are judged by their own path
    (``backends[0].password``), as a top-level value is; a URL keeps all but
    its password (``postgresql://app:**********@db/shop``).
    """
    if isinstance(value, Mapping):
        return {key: mask_secrets(model, (*path, str(key)), item, sensitive) for key, item in value.items()}
    if is_secret(model, path, value, sensitive):
        return MASK
    if isinstance(value, list | tuple):
        return [mask_secrets(model, (*path, index), item, sensitive) for index, item in enumerate(value)]
    if isinstance(value, str):
        return mask_url_passwords(value)  # a connection URL under a plain name (`database.url`)
    return value
