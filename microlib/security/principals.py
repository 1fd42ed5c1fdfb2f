"""The principal that travels with a message or job: a signed principal assertion.

When a call publishes a message or enqueues a job, the service signs its
caller's principal (subject, scopes, roles, claims) as a short JWS in the
``x-microlib-principal`` header; the consumer or worker that runs it verifies
the signature and decides with that principal, through the same resolver and
authorizers as any call. Work the service starts on its own (a scheduled
tick, a start-up task, a public call) carries the service's own identity.

The assertion is not the caller's token: a bearer token would be at rest in
the broker and its dead letters, replayable elsewhere, and expired by the
time a dead letter is replayed. The caller was authenticated when the
message was sent; the assertion records who it was, signed by the service
that checked. It is bound to what it travels with (the SHA-256 of the
message's body, or of the job's name and payload: ``content``), so copied
onto another message or job it proves nothing. Its audience
(``microlib:principal``) and type (``microlib-principal+jwt``) are never
accepted as an access token, and the ``authn`` interceptor reads it on the
message and job doors only.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from microlib.config.model import PRINCIPAL_AUDIENCE, PRINCIPAL_TOKEN_TYPE
from microlib.core.context import CallContext, Principal
from microlib.core.errors import Unauthenticated
from microlib.core.propagation import carried_content

if TYPE_CHECKING:
    from microlib.config.model import PropagationSettings

__all__ = ["CARRIED_KINDS", "PRINCIPAL_HEADER", "PrincipalSigner", "check_content"]

PRINCIPAL_HEADER = "x-microlib-principal"
"""The message or job header holding the signed principal."""

CARRIED_KINDS = frozenset({"message", "job"})
"""The doors whose calls carry a principal assertion instead of a credential."""

# Claims of the original token that describe the token, not the caller.
# (and ``content``, an assertion's binding to the message it came with).
_TOKEN_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "scp", "typ", "azp", "sid", "content"})


class PrincipalSigner:
    """Signs the principal of each message and job this service sends.

    Args:
        issuer: Names this service in each assertion (``iss``).
        private_key: The PEM private key (Ed25519, EC P-256 or RSA).
        key_id: The ``kid`` of the key, so signers can rotate keys.
        identity: The principal of work that no caller started.
        ttl: Seconds an assertion is valid; None: it does not expire.
    """

    def __init__(
        self,
        issuer: str,
        private_key: bytes,
        *,
        key_id: str,
        identity: Principal,
        ttl: float | None = None,
    ) -> None:
        self.issuer = issuer
        self.identity = identity
        self._key = load_pem_private_key(private_key, password=None)
        self.algorithm = _algorithm(self._key)
        self._key_id = key_id
        self._ttl = ttl

    @classmethod
    def from_settings(cls, settings: PropagationSettings, *, service: str) -> PrincipalSigner | None:
        """The signer ``security.propagation`` describes; None without a ``signing_key_file``.

        Args:
            settings: The ``security.propagation`` section.
            service: The service's name: the default issuer and identity subject.
        """
        if settings.signing_key_file is None:
            return None
        issuer = settings.issuer or f"microlib:{service}"
        own = settings.identity
        identity = Principal(own.subject or service, scopes=frozenset(own.scopes), roles=frozenset(own.roles))
        return cls(
            issuer,
            settings.signing_key_file.read_bytes(),
            key_id=settings.key_id,
            identity=identity,
            ttl=settings.ttl,
        )

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK, for this service's own consumers and for others' ``trusted``."""
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk: dict[str, Any] = algorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {**jwk, "kid": self._key_id, "alg": self.algorithm, "use": "sig"}

    def sign(self, principal: Principal | None, content: bytes) -> str:
        """The assertion for ``principal`` (the service's identity when None), bound to ``content``.

        Args:
            principal: The sending call's principal.
            content: What the assertion travels with: a message's body, or
                :func:`~microlib.core.propagation.job_content` of a job.
        """
        return self._sign(self.identity if principal is None else principal, content)

    def inject(self, ctx: CallContext | None, headers: dict[str, str], content: bytes) -> None:
        """Put the sending call's principal in ``headers`` (an ``Injector``)."""
        headers[PRINCIPAL_HEADER] = self.sign(ctx.principal if ctx is not None else None, content)

    def _sign(self, principal: Principal, content: bytes) -> str:
        claims = {k: v for k, v in principal.claims.items() if k not in _TOKEN_CLAIMS}
        if "origin" not in claims and "iss" in principal.claims:
            # Who authenticated the caller first; a re-signed assertion keeps it.
            claims["origin"] = {
                k: principal.claims[k] for k in ("iss", "exp") if principal.claims.get(k) is not None
            }
        now = int(time.time())
        claims |= {
            "iss": self.issuer,
            "aud": PRINCIPAL_AUDIENCE,
            "iat": now,
            "sub": principal.subject,
            "scope": " ".join(sorted(principal.scopes)),
            "roles": sorted(principal.roles),
            "content": _digest(content),
        }
        if self._ttl is not None:
            claims["exp"] = now + int(self._ttl)
        return jwt.encode(
            claims,
            self._key,  # type: ignore[arg-type]
            algorithm=self.algorithm,
            headers={"kid": self._key_id, "typ": PRINCIPAL_TOKEN_TYPE},
        )


def check_content(ctx: CallContext, principal: Principal) -> None:
    """Refuse an assertion that was signed for another message or job than ``ctx``'s.

    Raises:
        Unauthenticated: ``CONTENT_MISMATCH``.
    """
    content = carried_content(ctx)
    if content is None or principal.claims.get("content") != _digest(content):
        raise Unauthenticated(
            "the principal was signed for another message or job", reason="CONTENT_MISMATCH"
        )


def _digest(content: bytes) -> str:
    digest = hashlib.sha256(content).digest()
    return "sha256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _algorithm(key: Any) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES256"
    return "RS256"  # the settings accept RSA, EC P-256 and Ed25519 keys only
