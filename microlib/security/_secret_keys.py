"""One key of a secret whose value is a JSON object (``file:/run/db.json#password``).

A module of its own, below the stores that read keys: :mod:`microlib.security.secrets`
builds the AWS store (:mod:`microlib.security.aws`), which would otherwise import it back.
"""

from __future__ import annotations

import json

from microlib.core.errors import NotFound

__all__ = ["select_key"]


def select_key(text: str, key: str | None, *, reference: str, source: str = "the secret's value") -> str:
    """Pick ``key`` out of a JSON object secret, or return ``text`` when no key.

    Args:
        text: The secret's value.
        key: The ``#key`` of the reference, or None.
        reference: The reference, for errors.
        source: What ``text`` was read from, for errors (``the file /run/db.json``).

    Raises:
        NotFound: The value is not JSON, not a JSON object, or lacks ``key``
            (the message says which, never quoting the value).
    """
    if key is None:
        return text
    try:
        document = json.loads(text)
    except ValueError:
        raise NotFound(f"secret {reference}: {source} is not JSON, so it has no key {key!r}") from None
    if not isinstance(document, dict):
        raise NotFound(f"secret {reference}: {source} is JSON but not an object, so it has no key {key!r}")
    if key not in document:
        raise NotFound(f"secret {reference}: {source} has no key {key!r}")
    return str(document[key])
