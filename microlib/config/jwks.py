"""Read a JWKS file (``{"keys": [...]}``) named by ``security.issuers[].jwks_file``.

The file is read while the settings are validated, so a missing file or one
that is not a key set is reported with the key and where it was set, before
anything starts; the security layer reads it again when it builds the issuer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic_core import PydanticCustomError

__all__ = ["read_jwks"]


def read_jwks(path: Path) -> list[dict[str, Any]]:
    """The public keys of the JSON Web Key Set in ``path``.

    Raises:
        PydanticCustomError: the file cannot be read, is not JSON, or is not
            an object whose ``keys`` is a non-empty list of objects.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _invalid(f"cannot read {str(path)!r}: {reason}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise _invalid(f"{str(path)!r} is not JSON: {exc}") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(key, dict) for key in keys):
        raise _invalid(f'{str(path)!r} is not a JSON Web Key Set: expected {{"keys": [{{...}}, ...]}}')
    if any("d" in key for key in keys):
        # A private key in a file every replica reads is a leak waiting to happen.
        raise _invalid(f"{str(path)!r} holds a private key (a 'd' member): give the public keys only")
    return keys


def _invalid(message: str) -> PydanticCustomError:
    # The message goes in as a context value: a path holding braces is not a template.
    return PydanticCustomError("jwks_file", "{message}", {"message": message})
