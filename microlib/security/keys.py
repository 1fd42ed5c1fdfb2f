"""Where verification keys come from: the ``KeySource`` protocol and static keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import jwt
import structlog

from microlib.core.errors import InvalidArgument, Unauthenticated

__all__ = ["KeySource", "StaticKeys", "VerificationKey", "lookup", "parse_jwks"]

log = structlog.get_logger("microlib.security")

_FAMILIES = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "P-256": frozenset({"ES256"}),
    "P-384": frozenset({"ES384"}),
    "P-521": frozenset({"ES512"}),
    "secp256k1": frozenset({"ES256K"}),
    "Ed25519": frozenset({"EdDSA", "Ed25519"}),
    "Ed448": frozenset({"EdDSA", "Ed448"}),
}


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key and the algorithms it may verify.

    Binding algorithms to the key (from its JWK ``alg``, else from its type and
    curve) is what stops algorithm confusion: an RSA key can never verify an
    ``HS256`` token, whatever the token's header says.

    Args:
        kid: The key id, if any.
        key: The ``cryptography`` public key object.
        algorithms: The ``alg`` values this key verifies.
    """

    kid: str | None
    key: Any
    algorithms: frozenset[str]

    @classmethod
    def from_jwk(cls, data: Mapping[str, Any]) -> VerificationKey:
        """Parse one public JWK.

        Raises:
            jwt.PyJWKError: The key is invalid or of an unsupported type.
        """
        parsed = jwt.PyJWK(dict(data))
        if "alg" in data:
            algorithms = frozenset({str(data["alg"])})
        else:
            algorithms = _FAMILIES.get(str(data.get("crv", data.get("kty"))), frozenset())
        if not algorithms or data.get("kty") == "oct":
            raise jwt.PyJWKError(f"kty {data.get('kty')!r} cannot be a public verification key")
        return cls(kid=parsed.key_id, key=parsed.key, algorithms=algorithms)


@runtime_checkable
class KeySource(Protocol):
    """Finds the public key that verifies a token."""

    async def key_for(self, kid: str | None) -> VerificationKey:
        """The key with id ``kid`` (None when the token header has no ``kid``).

        Raises:
            Unauthenticated: ``UNKNOWN_KEY`` when no such key is known.
        """
        ...


def parse_jwks(document: Mapping[str, Any], *, origin: str) -> dict[str | None, VerificationKey]:
    """Index a JWKS document's usable signing keys by ``kid``.

    Keys for encryption (``use: enc``) or of unsupported types are skipped and
    logged, as a key set may legitimately hold keys this service cannot use.

    Args:
        document: The parsed ``{"keys": [...]}`` document.
        origin: Where it came from, for log lines and errors.

    Returns:
        The keys by ``kid``; a key without ``kid`` is stored under None.

    Raises:
        InvalidArgument: The document has no ``keys`` list.
    """
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise InvalidArgument(f"{origin}: a JWKS document needs a 'keys' list")
    return _index(keys, origin=origin)


def _index(keys: Iterable[Any], *, origin: str) -> dict[str | None, VerificationKey]:
    found: dict[str | None, VerificationKey] = {}
    for position, data in enumerate(keys):
        if not isinstance(data, Mapping) or data.get("use", "sig") != "sig":
            continue
        try:
            key = VerificationKey.from_jwk(data)
        except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:
            log.warning(
                "jwks_key_skipped", origin=origin, index=position, kid=data.get("kid"), error=str(exc)
            )
            continue
        found[key.kid] = key
    return found


class StaticKeys:
    """Keys given in configuration (JWK dicts); no network.

    A token without ``kid`` is accepted only when exactly one key is known.

    Args:
        keys: JWKs, each a dict with ``kty`` and its parameters (public only).

    Raises:
        InvalidArgument: A key cannot be used.
    """

    def __init__(self, keys: Iterable[Mapping[str, Any]]) -> None:
        keys = list(keys)
        self._keys = _index(keys, origin="static keys")
        if len(self._keys) != len(keys):
            raise InvalidArgument("static keys: every key must be a usable public signing JWK (see the log)")

    async def key_for(self, kid: str | None) -> VerificationKey:
        """The key with id ``kid``.

        Raises:
            Unauthenticated: ``UNKNOWN_KEY``.
        """
        return lookup(self._keys, kid)


def lookup(keys: Mapping[str | None, VerificationKey], kid: str | None) -> VerificationKey:
    """Pick ``kid`` from ``keys``; without a kid, only a lone key matches.

    Raises:
        Unauthenticated: ``UNKNOWN_KEY``.
    """
    if kid is None and len(keys) == 1:
        return next(iter(keys.values()))
    key = keys.get(kid)
    if key is None:
        raise Unauthenticated("the token's signing key is not known", reason="UNKNOWN_KEY")
    return key
