"""Verify a bearer token into a :class:`~microlib.core.context.Principal` (PyJWT).

Checks, in order: size, structure, algorithm allow-list (``none`` never),
issuer (picked from the unverified ``iss``, then verified), key (by ``kid``),
signature, ``exp``/``nbf``/``iat`` with leeway, audience. Each failure is an
``Unauthenticated`` error with a stable ``reason``; the token itself never
appears in an error or a log line.
"""

from __future__ import annotations

import base64
import json
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from microlib.core.context import Principal
from microlib.core.errors import Error, Unauthenticated
from microlib.security.keys import KeySource

__all__ = ["Issuer", "TokenVerifier"]

_ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "TOKEN_EXPIRED", "the token has expired"),
    (jwt.ImmatureSignatureError, "TOKEN_NOT_YET_VALID", "the token is not valid yet"),
    (jwt.InvalidAudienceError, "INVALID_AUDIENCE", "the token is not meant for this service"),
    (jwt.InvalidIssuerError, "INVALID_ISSUER", "the token's issuer is not trusted"),
    (jwt.InvalidIssuedAtError, "INVALID_ISSUED_AT", "the token's iat is in the future"),
    (jwt.MissingRequiredClaimError, "MISSING_CLAIM", "the token lacks a required claim"),
    (jwt.InvalidAlgorithmError, "UNSUPPORTED_ALGORITHM", "the token's algorithm is not allowed"),
    (jwt.InvalidSignatureError, "INVALID_SIGNATURE", "the token's signature is invalid"),
    (jwt.InvalidKeyError, "INVALID_SIGNATURE", "the token's signature is invalid"),
    (jwt.DecodeError, "MALFORMED_TOKEN", "the token is malformed"),
)


@dataclass(frozen=True, slots=True)
class Issuer:
    """A trusted issuer and the rules its tokens must pass.

    Args:
        issuer: The exact ``iss`` value.
        keys: Where its public keys come from.
        audiences: Accepted ``aud`` values (one must match).
        algorithms: The allow-list of ``alg`` values.
        leeway: Clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds.
        max_token_size: Longest accepted token, in bytes.
        require: Claims that must be present.
        token_types: Accepted ``typ`` header values (``at+jwt`` for RFC 9068
            access tokens), compared without case or ``application/``; empty
            accepts any. Setting it stops ID tokens being replayed as access tokens.
        scope_claim: Claim holding scopes (a space-separated string or a list).
        roles_claim: Claim holding roles; dots descend into objects
            (``realm_access.roles``).
    """

    issuer: str
    keys: KeySource
    audiences: Sequence[str]
    algorithms: Sequence[str] = ("RS256", "ES256")
    leeway: float = 30.0
    max_token_size: int = 8192
    require: Sequence[str] = ("exp", "iat", "sub")
    token_types: Sequence[str] = ()
    scope_claim: str = "scope"
    roles_claim: str = "roles"

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        """Build the principal for verified ``claims``.

        Raises:
            Unauthenticated: ``MISSING_CLAIM`` when ``sub`` is absent.
        """
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("the token has no subject", reason="MISSING_CLAIM")
        return Principal(
            subject=subject,
            scopes=frozenset(_strings(claims.get(self.scope_claim)) or _strings(claims.get("scp"))),
            roles=frozenset(_strings(_path(claims, self.roles_claim))),
            claims=dict(claims),
        )


class TokenVerifier:
    """Verifies tokens from any of several issuers, caching recent results.

    Verified tokens are cached (by their exact text) for at most ``cache_ttl``
    seconds and never past their ``exp``, so steady traffic with the same
    token pays the signature check once.

    Args:
        issuers: The trusted issuers.
        cache_size: Most tokens remembered; 0 disables the cache.
        cache_ttl: Longest a verified token is remembered, in seconds.
    """

    def __init__(self, issuers: Iterable[Issuer], *, cache_size: int = 4096, cache_ttl: float = 60.0) -> None:
        self._issuers = {issuer.issuer: issuer for issuer in issuers}
        self._max_size = max((issuer.max_token_size for issuer in self._issuers.values()), default=8192)
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_ttl = cache_ttl

    async def verify(self, token: str) -> Principal:
        """Verify ``token`` and return its principal.

        Raises:
            Unauthenticated: With a ``reason`` naming the failed check.
        """
        hit = self._cache.get(token)
        if hit is not None:
            if time.time() < hit[0]:
                return hit[1]
            del self._cache[token]
        try:
            expires, principal = await self._verify(token)
        except Error:
            raise
        except Exception as exc:
            for kind, reason, message in _ERRORS:
                if isinstance(exc, kind):
                    raise Unauthenticated(message, reason=reason) from None
            raise Unauthenticated("the token could not be verified", reason="INVALID_TOKEN") from None
        self._remember(token, expires, principal)
        return principal

    async def _verify(self, token: str) -> tuple[float, Principal]:
        if len(token) > self._max_size:
            raise Unauthenticated("the token is too large", reason="TOKEN_TOO_LARGE")
        header, unverified = _peek(token)
        iss = unverified.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise Unauthenticated("the token's issuer is not trusted", reason="UNKNOWN_ISSUER")
        if len(token) > issuer.max_token_size:
            raise Unauthenticated("the token is too large", reason="TOKEN_TOO_LARGE")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none" or alg not in issuer.algorithms:
            raise Unauthenticated("the token's algorithm is not allowed", reason="UNSUPPORTED_ALGORITHM")
        if issuer.token_types and _media_type(header.get("typ")) not in {
            _media_type(t) for t in issuer.token_types
        }:
            raise Unauthenticated("the token is not an access token", reason="INVALID_TOKEN_TYPE")
        kid = header.get("kid")
        key = await issuer.keys.key_for(kid if isinstance(kid, str) else None)
        if alg not in key.algorithms:
            raise Unauthenticated(
                "the token's algorithm does not match its key", reason="UNSUPPORTED_ALGORITHM"
            )
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[alg],
            audience=list(issuer.audiences),
            issuer=issuer.issuer,
            leeway=issuer.leeway,
            options={"require": list(issuer.require), "verify_iat": True},
        )
        principal = issuer.principal(claims)
        exp = claims.get("exp")
        expires = float(exp) + issuer.leeway if isinstance(exp, int | float) else float("inf")
        return expires, principal

    def _remember(self, token: str, expires: float, principal: Principal) -> None:
        if self._cache_size <= 0 or self._cache_ttl <= 0:
            return
        self._cache[token] = (min(expires, time.time() + self._cache_ttl), principal)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified, only to pick the issuer, key and algorithm.

    PyJWT's strict segment parsing costs tens of microseconds per call; it
    still runs, once, in the verifying ``jwt.decode``.

    Raises:
        jwt.DecodeError: The token is not three base64url JSON segments.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise jwt.DecodeError("not enough segments")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError) as exc:
        raise jwt.DecodeError("invalid segment") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise jwt.DecodeError("segments are not JSON objects")
    return header, claims


def _media_type(value: Any) -> str:
    text = value.lower() if isinstance(value, str) else ""
    return text.removeprefix("application/")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def _path(claims: Mapping[str, Any], dotted: str) -> Any:
    value: Any = claims
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
