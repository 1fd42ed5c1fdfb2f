"""Bearer authentication through the shared chain, against a real OIDC issuer over HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from structlog.testing import capture_logs

from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import Unauthenticated
from microlib.security.authn import AuthenticationInterceptor
from microlib.security.authz import AuthorizationInterceptor, RequirementAuthorizer
from microlib.security.jwt import Issuer, TokenVerifier
from microlib.security.keys import VerificationKey
from microlib.security.requirements import RequirementResolver
from microlib.security.setup import Security

from .conftest import OidcIssuer, SigningKey, ec_key
from .helpers import KINDS, call, forge_hs256, settings_for


@pytest.fixture
async def security(oidc: OidcIssuer) -> AsyncIterator[Security]:
    """Security trusting the fixture issuer through OIDC discovery."""
    built = Security.from_settings(
        settings_for(
            {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}
        )
    )
    for component in built.components:
        await component.start()
    yield built
    for component in built.components:
        await component.stop()


async def rejected(security: Security, token: str, *, kind: str = "http") -> Unauthenticated:
    """Run a call that must fail; check the token is never echoed."""
    with capture_logs() as logs, pytest.raises(Unauthenticated) as caught:
        await call(security, kind=kind, token=token)  # type: ignore[arg-type]
    assert token not in caught.value.message
    assert all(token not in repr(entry) for entry in logs)
    assert any(entry["event"] == "authentication_failed" for entry in logs)
    return caught.value


class TestValidTokens:
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("key_index", [0, 1], ids=["RS256", "ES256"])
    async def test_valid_token_sets_principal(
        self, security: Security, oidc: OidcIssuer, kind: str, key_index: int
    ) -> None:
        """An RS256 or ES256 token from the issuer becomes the handler's principal, on both kinds."""
        token = oidc.mint(oidc.keys[key_index], scope="books.read books.write", roles=["reader"])
        _, principal = await call(security, kind=kind, token=token)  # type: ignore[arg-type]
        assert principal is not None
        assert principal.subject == "user-1"
        assert principal.scopes == {"books.read", "books.write"}
        assert principal.roles == {"reader"}
        assert principal.claims["iss"] == oidc.issuer

    async def test_discovery_and_jwks_fetched_once(self, security: Security, oidc: OidcIssuer) -> None:
        """Steady traffic is served from the cached key set."""
        for _ in range(5):
            await call(security, token=oidc.mint(jti=str(time.monotonic())))
        assert (oidc.discovery_hits, oidc.jwks_hits) == (1, 1)


class TestFailClosed:
    @pytest.mark.parametrize("kind", KINDS)
    async def test_missing_credentials(self, security: Security, kind: str) -> None:
        """No authorization: UNAUTHENTICATED, and a challenge without an error code (RFC 6750 3.1)."""
        with pytest.raises(Unauthenticated) as caught:
            await call(security, kind=kind)  # type: ignore[arg-type]
        assert caught.value.reason == "MISSING_CREDENTIALS"

    async def test_challenge_headers(self, security: Security, oidc: OidcIssuer) -> None:
        """The 401 carries WWW-Authenticate with error and description for a bad token."""

        async def handler(ctx: CallContext) -> None:
            return None

        run = compose([security.authn], handler)
        missing = CallContext(kind="http", service="s", method="m")
        with pytest.raises(Unauthenticated):
            await run(missing)
        assert missing.response_metadata["www-authenticate"] == "Bearer"
        expired = CallContext(
            kind="http",
            service="s",
            method="m",
            metadata={"authorization": f"Bearer {oidc.mint(exp=int(time.time()) - 600)}"},
        )
        with pytest.raises(Unauthenticated):
            await run(expired)
        assert expired.response_metadata["www-authenticate"] == (
            'Bearer error="invalid_token", error_description="the token has expired"'
        )

    async def test_not_bearer(self, security: Security) -> None:
        """Another scheme is an invalid request."""
        with pytest.raises(Unauthenticated) as caught:
            await call(security, authorization="Basic dXNlcjpwYXNz")
        assert caught.value.reason == "INVALID_REQUEST"

    async def test_alg_none(self, security: Security, oidc: OidcIssuer) -> None:
        """An unsigned token (alg none) is refused."""
        token = jwt.encode({"iss": oidc.issuer, "aud": oidc.audience, "sub": "x"}, None, algorithm="none")
        assert (await rejected(security, token)).reason == "UNSUPPORTED_ALGORITHM"

    @pytest.mark.parametrize("algorithms", [["RS256", "ES256"], ["RS256", "HS256"]])
    async def test_hs256_with_public_key_as_secret(self, oidc: OidcIssuer, algorithms: list[str]) -> None:
        """HS256 keyed with the RSA public key is refused, even when HS256 is on the allow-list."""
        security = Security.from_settings(
            settings_for(
                {
                    "issuer": oidc.issuer,
                    "jwks_url": oidc.jwks_url,
                    "audiences": [oidc.audience],
                    "algorithms": algorithms,
                }
            )
        )
        public_pem = (
            oidc.keys[0]
            .private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        now = int(time.time())
        claims = {"iss": oidc.issuer, "aud": oidc.audience, "sub": "x", "iat": now, "exp": now + 60}
        token = forge_hs256(claims, public_pem, oidc.keys[0].kid)
        try:
            assert (await rejected(security, token)).reason == "UNSUPPORTED_ALGORITHM"
        finally:
            for component in security.components:
                await component.stop()

    async def test_expired(self, security: Security, oidc: OidcIssuer) -> None:
        """exp in the past beyond the leeway."""
        token = oidc.mint(iat=int(time.time()) - 900, exp=int(time.time()) - 600)
        assert (await rejected(security, token)).reason == "TOKEN_EXPIRED"

    async def test_expired_within_leeway_is_accepted(self, security: Security, oidc: OidcIssuer) -> None:
        """Clock skew up to the leeway (30 s by default) is tolerated."""
        _, principal = await call(security, token=oidc.mint(exp=int(time.time()) - 5))
        assert principal is not None

    async def test_not_yet_valid(self, security: Security, oidc: OidcIssuer) -> None:
        """nbf in the future beyond the leeway."""
        token = oidc.mint(nbf=int(time.time()) + 600)
        assert (await rejected(security, token)).reason == "TOKEN_NOT_YET_VALID"

    async def test_wrong_audience(self, security: Security, oidc: OidcIssuer) -> None:
        """A token for another audience."""
        assert (await rejected(security, oidc.mint(aud="api://other"))).reason == "INVALID_AUDIENCE"

    async def test_wrong_issuer(self, security: Security, oidc: OidcIssuer) -> None:
        """A token signed with the trusted key but naming an untrusted iss."""
        token = oidc.mint(iss="https://evil.example")
        assert (await rejected(security, token)).reason == "UNKNOWN_ISSUER"

    async def test_missing_subject(self, security: Security, oidc: OidcIssuer) -> None:
        """sub is required."""
        assert (await rejected(security, oidc.mint(sub=None))).reason == "MISSING_CLAIM"

    async def test_unknown_kid(self, security: Security, oidc: OidcIssuer) -> None:
        """A kid the issuer does not publish, after one refresh of the key set."""
        stranger = ec_key("not-published")
        assert (await rejected(security, oidc.mint(stranger))).reason == "UNKNOWN_KEY"
        assert oidc.jwks_hits == 2

    async def test_unknown_kid_refresh_is_rate_limited(self, security: Security, oidc: OidcIssuer) -> None:
        """A flood of forged kids causes one JWKS refresh, not one per token."""
        for index in range(10):
            await rejected(security, oidc.mint(ec_key(f"forged-{index}")))
        assert oidc.jwks_hits == 2

    async def test_tampered_payload(self, security: Security, oidc: OidcIssuer) -> None:
        """Changing the payload breaks the signature."""
        header, _, signature = oidc.mint().split(".")
        forged_payload = oidc.mint(sub="admin").split(".")[1]
        token = f"{header}.{forged_payload}.{signature}"
        assert (await rejected(security, token)).reason == "INVALID_SIGNATURE"

    async def test_truncated_in_payload(self, security: Security, oidc: OidcIssuer) -> None:
        """A token cut inside its payload has too few segments."""
        token = oidc.mint()
        assert (await rejected(security, token[: token.index(".") + 12])).reason == "MALFORMED_TOKEN"

    @pytest.mark.parametrize("cut", [1, 2, 3, 4, 40])
    async def test_truncated_in_signature(self, security: Security, oidc: OidcIssuer, cut: int) -> None:
        """A token missing the end of its signature fails: as bad base64 or as a bad signature,
        depending on where the cut falls in a base64 quantum."""
        reason = (await rejected(security, oidc.mint()[:-cut])).reason
        assert reason in {"MALFORMED_TOKEN", "INVALID_SIGNATURE"}

    async def test_oversized(self, security: Security, oidc: OidcIssuer) -> None:
        """A token over max_token_size is refused before parsing."""
        token = oidc.mint(padding="x" * 9000)
        assert (await rejected(security, token)).reason == "TOKEN_TOO_LARGE"

    async def test_token_for_another_issuer(
        self, security: Security, oidc: OidcIssuer, other_key: SigningKey
    ) -> None:
        """A token from an untrusted issuer, even claiming our iss and reusing a published kid."""
        foreign = jwt.encode(
            {"iss": "https://other.example", "aud": oidc.audience, "sub": "x", "exp": int(time.time()) + 60},
            other_key.private,
            algorithm="RS256",
            headers={"kid": other_key.kid},
        )
        assert (await rejected(security, foreign)).reason == "UNKNOWN_ISSUER"
        impostor = oidc.mint(other_key)
        assert (await rejected(security, impostor)).reason == "INVALID_SIGNATURE"

    @pytest.mark.parametrize("kind", KINDS)
    async def test_garbage(self, security: Security, kind: str) -> None:
        """Random text is a malformed token, on both kinds."""
        assert (await rejected(security, "not.a.jwt", kind=kind)).reason == "MALFORMED_TOKEN"


class _BrokenKeys:
    """A key source failing in an unexpected way (a bug in a custom KeySource)."""

    async def key_for(self, kid: str | None) -> VerificationKey:
        raise RuntimeError("boom")


async def test_unexpected_error_fails_closed(oidc: OidcIssuer) -> None:
    """Any unexpected exception while verifying is UNAUTHENTICATED/INVALID_TOKEN, never a 500."""
    verifier = TokenVerifier([Issuer(oidc.issuer, _BrokenKeys(), [oidc.audience])])
    resolver = RequirementResolver()
    security = Security(
        authn=AuthenticationInterceptor(verifier, resolver),
        authz=AuthorizationInterceptor([RequirementAuthorizer()], resolver),
        components=(),
        verifier=verifier,
        resolver=resolver,
    )
    assert (await rejected(security, oidc.mint())).reason == "INVALID_TOKEN"


async def test_token_type_allow_list(oidc: OidcIssuer) -> None:
    """With token_types set, an ID token (typ JWT) is refused and an RFC 9068 access token accepted."""
    security = Security.from_settings(
        settings_for(
            {
                "issuer": oidc.issuer,
                "jwks_url": oidc.jwks_url,
                "audiences": [oidc.audience],
                "token_types": ["at+jwt"],
            }
        )
    )
    try:
        assert (await rejected(security, oidc.mint())).reason == "INVALID_TOKEN_TYPE"
        _, principal = await call(security, token=oidc.mint(headers={"typ": "application/at+JWT"}))
        assert principal is not None
    finally:
        for component in security.components:
            await component.stop()
