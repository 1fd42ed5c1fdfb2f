"""A development token issuer for the bookshop example, and the attack cases to try against it.

``examples/bookshop/auth.yaml`` turns authentication on by configuration
alone: it trusts the issuer ``bookshop-dev`` whose public keys are in
``.dev-auth/jwks.json``. This module makes that key pair and signs tokens
with it (a stand-in for a real identity provider: never use it for anything
but trying the example)::

    python -m examples.bookshop.devauth init
    python -m examples.bookshop.devauth token --sub ann --roles editor
    python -m examples.bookshop.devauth token --attack alg-none

Each ``--attack`` makes a token that microlib must refuse with 401 on every
door (``microlib.security`` names the reason in the ``WWW-Authenticate``
header and the problem's ``reason``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

ISSUER = "bookshop-dev"
AUDIENCE = "bookshop"
KEY_ID = "bookshop-dev-1"
DIRECTORY = Path(".dev-auth")

ATTACKS: dict[str, str] = {
    "expired": "expired an hour ago",
    "not-yet-valid": "valid only from an hour from now",
    "wrong-audience": "minted for another service",
    "wrong-issuer": "from an issuer the service does not trust",
    "alg-none": "unsigned (alg none)",
    "hs256-confusion": "HS256-signed with the public key as the secret (key confusion)",
    "bad-signature": "a valid token whose payload was changed after signing",
    "unknown-kid": "signed by a key the issuer never published",
    "oversized": "larger than max_token_size",
}
"""Attack tokens: each is refused with 401, never reaches a handler."""


def init(directory: Path = DIRECTORY) -> Path:
    """Write a new RSA key pair: ``key.pem`` (private) and ``jwks.json`` (public), and the
    service's own signing key, ``principal.pem``.

    Returns:
        The JWKS file ``auth.yaml`` points at.
    """
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / "key.pem").write_bytes(pem)
    (directory / "key.pem").chmod(0o600)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}
    (directory / "jwks.json").write_text(json.dumps(jwks, indent=2) + "\n")
    # The service's own key: it signs the principal each job it enqueues carries
    # (security.propagation.signing_key_file).
    principal = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / "principal.pem").write_bytes(principal)
    (directory / "principal.pem").chmod(0o600)
    return directory / "jwks.json"


def token(
    *,
    subject: str = "ann",
    roles: Sequence[str] = (),
    scopes: Sequence[str] = (),
    ttl: int = 3600,
    attack: str | None = None,
    directory: Path = DIRECTORY,
) -> str:
    """A signed access token for the example, or one of :data:`ATTACKS`.

    Raises:
        FileNotFoundError: ``init`` has not been run.
        ValueError: an unknown attack.
    """
    key = serialization.load_pem_private_key((directory / "key.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "roles": list(roles),
        "scope": " ".join(scopes),
    }
    headers = {"kid": KEY_ID}
    if attack is None:
        return jwt.encode(claims, key, algorithm="RS256", headers=headers)
    if attack == "expired":
        return jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, key, "RS256", headers)
    if attack == "not-yet-valid":
        return jwt.encode({**claims, "nbf": now + 3600}, key, "RS256", headers)
    if attack == "wrong-audience":
        return jwt.encode({**claims, "aud": "another-service"}, key, "RS256", headers)
    if attack == "wrong-issuer":
        return jwt.encode({**claims, "iss": "https://evil.example"}, key, "RS256", headers)
    if attack == "alg-none":
        return _unsigned({"alg": "none", "typ": "JWT", **headers}, claims) + "."
    if attack == "hs256-confusion":
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signing_input = _unsigned({"alg": "HS256", "typ": "JWT", **headers}, claims)
        mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"
    if attack == "bad-signature":
        header, _, signed = jwt.encode(claims, key, "RS256", headers).split(".")
        forged = _b64(json.dumps({**claims, "roles": ["admin"]}).encode())
        return f"{header}.{forged}.{signed}"
    if attack == "unknown-kid":
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims, stranger, "RS256", {"kid": "never-published"})
    if attack == "oversized":
        return jwt.encode({**claims, "padding": "x" * 10_000}, key, "RS256", headers)
    raise ValueError(f"unknown attack {attack!r}; one of: {', '.join(ATTACKS)}")


_SUMMARY = "A development token issuer for the bookshop example."
_INIT = "python -m examples.bookshop.devauth init"


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main(argv: Sequence[str] | None = None) -> int:
    """``init`` the key pair, or print a ``token``."""
    parser = argparse.ArgumentParser(prog="python -m examples.bookshop.devauth", description=_SUMMARY)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help=f"write a new key pair into {DIRECTORY}/")
    mint = commands.add_parser("token", help="print an access token (or an attack token)")
    mint.add_argument("--sub", default="ann", help="the subject (default: ann)")
    mint.add_argument("--roles", nargs="*", default=[], help="roles, e.g. editor admin")
    mint.add_argument("--scopes", nargs="*", default=[], help="OAuth scopes")
    mint.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    mint.add_argument("--attack", choices=sorted(ATTACKS), help="a token the service must refuse")
    args = parser.parse_args(argv)
    if args.command == "init":
        print(f"wrote {init()}, {DIRECTORY / 'key.pem'} and {DIRECTORY / 'principal.pem'}")
        return 0
    try:
        print(token(subject=args.sub, roles=args.roles, scopes=args.scopes, ttl=args.ttl, attack=args.attack))
    except FileNotFoundError:
        print(f"no key pair in {DIRECTORY}/: run `{_INIT}` first", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
