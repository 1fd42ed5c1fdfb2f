"""The vault API of ``specs/schemes.yaml``: its handlers and a verifier for each kind of scheme."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from microlib.core.context import CallContext, Principal, current_context
from microlib.core.errors import Unauthenticated
from microlib.http.openapi import Reply
from microlib.security import CredentialVerifier

SPEC = Path(__file__).resolve().parent / "specs/schemes.yaml"
PASSWORDS = {"alice": "s3cret-Pw!", "bob": "hunter2-Pw!"}
API_KEY = "k-3b9f1c0e7a"
WRONG_PASSWORD = "guess-Pw!"
WRONG_KEY = "k-wrong-0000"


class Users:
    """A BasicVerifier: two users, alice with the admin role."""

    async def verify_basic(self, username: str, password: str) -> Principal | None:
        """Alice or bob with their password; None otherwise."""
        expected = PASSWORDS.get(username)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        return Principal(username, roles=frozenset({"admin"} if username == "alice" else ()))


class Keys:
    """An ApiKeyVerifier: one key, for the service account svc-a."""

    async def verify_api_key(self, key: str) -> Principal | None:
        """svc-a for the one key; None otherwise."""
        return Principal("svc-a", roles=frozenset({"service"})) if hmac.compare_digest(key, API_KEY) else None


class Digest:
    """A RequestVerifier for the digest scheme (a fixed response stands in for RFC 7616's hash)."""

    async def verify_request(self, ctx: CallContext) -> Principal | None:
        """carol with the right response; refused with a reason for a wrong one; None without."""
        header = ctx.metadata.get("authorization", "")
        if not header.lower().startswith("digest "):
            return None
        if 'response="6629fae49393a05397450978507c4ef1"' not in header:
            raise Unauthenticated("the digest response does not match", reason="BAD_DIGEST")
        return Principal("carol")


class ClientCertificate:
    """A RequestVerifier for mutualTLS, reading the subject a TLS-terminating proxy verified."""

    async def verify_request(self, ctx: CallContext) -> Principal | None:
        """dave's certificate; refused for any other subject; None without one."""
        subject = ctx.metadata.get("x-client-cert-subject")
        if subject is None:
            return None
        if subject != "CN=dave":
            raise Unauthenticated("this client certificate is not trusted", reason="UNTRUSTED_CERTIFICATE")
        return Principal("dave")


VERIFIERS: dict[str, CredentialVerifier] = {
    "basicAuth": Users(),
    "headerKey": Keys(),
    "queryKey": Keys(),
    "cookieKey": Keys(),
    "digestAuth": Digest(),
    "mtls": ClientCertificate(),
}


class Vault:
    """Every operation answers with the caller it saw."""

    @staticmethod
    def caller() -> dict[str, Any]:
        """The principal of the current call."""
        ctx = current_context()
        assert ctx is not None
        assert ctx.principal is not None, "reached the handler unauthenticated"
        return {"subject": ctx.principal.subject, "roles": sorted(ctx.principal.roles)}

    async def delete_basic(self, *, id: str) -> Reply:
        return Reply(None, status=204)

    async def basic_admin(self) -> dict[str, Any]:
        return self.caller()

    async def bearer(self) -> dict[str, Any]:
        return self.caller()

    async def header_key(self) -> dict[str, Any]:
        return self.caller()

    async def query_key(self, *, limit: int | None = None) -> dict[str, Any]:
        return self.caller()

    async def cookie_key(self) -> dict[str, Any]:
        return self.caller()

    async def oauth(self) -> dict[str, Any]:
        return self.caller()

    async def oidc(self) -> dict[str, Any]:
        return self.caller()

    async def digest(self) -> dict[str, Any]:
        return self.caller()

    async def mtls(self) -> dict[str, Any]:
        return self.caller()

    async def both(self) -> dict[str, Any]:
        return self.caller()

    async def either(self) -> dict[str, Any]:
        return self.caller()

    async def status(self) -> dict[str, Any]:
        ctx = current_context()
        assert ctx is not None
        assert ctx.principal is None
        return {"subject": "", "roles": []}
