"""The ``authn`` interceptor: credentials → ``ctx.principal``, on every transport.

HTTP headers and gRPC metadata reach the chain with lower-case keys, so one
interceptor reads ``authorization`` for both. A call whose requirement names
no security scheme (proto methods, config rules, undeclared methods) needs a
bearer token. An OpenAPI operation's requirement names its schemes: the
caller must satisfy one of its security requirement objects, presenting and
passing every scheme in it (a bearer JWT, HTTP basic or an API key checked
by the verifier registered for the scheme, or a :class:`RequestVerifier`);
the object's scopes and roles are checked here, so credentials for one
alternative never grant another's.

It fails closed: missing or wrong credentials, and any unexpected error while
verifying, end the call with ``Unauthenticated`` (HTTP 401 with a
``WWW-Authenticate`` challenge for each scheme accepted, gRPC
``UNAUTHENTICATED``), never a 500. The reason is logged, the credential never.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

import structlog

from microlib.core.chain import CallNext
from microlib.core.context import CallContext, Principal
from microlib.core.errors import Error, Unauthenticated, Unavailable
from microlib.security.authz import Decision, denial
from microlib.security.credentials import (
    ApiKeyVerifier,
    BasicVerifier,
    CredentialVerifier,
    RequestVerifier,
    api_key,
    authorization,
    authorization_scheme,
    basic_credentials,
)
from microlib.security.jwt import TokenVerifier
from microlib.security.principals import CARRIED_KINDS, PRINCIPAL_HEADER, check_content
from microlib.security.requirements import RequirementResolver, SecurityRequirement
from microlib.security.schemes import SecurityScheme

__all__ = ["AuthenticationInterceptor"]

log = structlog.get_logger("microlib.security")


class AuthenticationInterceptor:
    """Authenticates each call that is not public.

    Args:
        verifier: Verifies bearer tokens.
        resolver: Decides which calls are public.
        realm: The ``realm`` in ``WWW-Authenticate`` (omitted when empty;
            ``Basic`` challenges, which need one, then use the API's name).
        verifiers: Verifiers by security scheme name, for the schemes that
            are not bearer tokens.
        principals: Verifies the principal assertion a message or job
            carries (:mod:`microlib.security.principals`); None when no
            signer is trusted.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        resolver: RequirementResolver,
        *,
        realm: str = "",
        verifiers: Mapping[str, CredentialVerifier] | None = None,
        principals: TokenVerifier | None = None,
    ) -> None:
        self._verifier = verifier
        self._principals = principals
        self._resolver = resolver
        self._realm = realm
        self._verifiers = dict(verifiers or {})
        self._challenge = f'Bearer realm="{_quote(realm)}"' if realm else "Bearer"

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Set ``ctx.principal`` from the call's credentials, then continue.

        Raises:
            Unauthenticated: The call is not public and has no valid credentials.
            PermissionDenied: The credentials are valid, but no security
                requirement object they satisfy grants the scopes or roles it lists.
        """
        requirement = self._resolver.resolve(ctx)
        if requirement is not None and requirement.public:
            return await call_next(ctx)
        if requirement is not None and requirement.schemes:
            ctx.principal = await self._by_schemes(ctx, requirement)
        else:
            ctx.principal = await self._authenticate(ctx)
        return await call_next(ctx)

    async def _authenticate(self, ctx: CallContext) -> Principal:
        if ctx.kind in CARRIED_KINDS and self._principals is not None:
            # Only these doors read it: over HTTP or gRPC it is a header like any other.
            assertion = ctx.metadata.get(PRINCIPAL_HEADER)
            if assertion:
                principal = await self._verify_token(ctx, assertion, None, self._principals)
                try:
                    check_content(ctx, principal)
                except Unauthenticated as exc:
                    raise self._fail(ctx, "", exc) from None
                return principal
        header = ctx.metadata.get("authorization")
        if not header:
            # RFC 6750 section 3.1: no error code when the request had no credentials.
            ctx.response_metadata["www-authenticate"] = self._challenge
            self._log(ctx, "MISSING_CREDENTIALS")
            raise Unauthenticated("authentication required", reason="MISSING_CREDENTIALS")
        token = authorization(ctx.metadata, "bearer")
        if not token:
            failure = Unauthenticated("expected a Bearer token", reason="INVALID_REQUEST")
            raise self._fail(ctx, self._bearer_challenge("invalid_request", failure), failure)
        return await self._verify_token(ctx, token, None)

    async def _verify_token(
        self,
        ctx: CallContext,
        token: str,
        requirement: SecurityRequirement | None,
        verifier: TokenVerifier | None = None,
    ) -> Principal:
        try:
            return await (verifier or self._verifier).verify(token)
        except Unauthenticated as exc:
            raise self._token_failure(ctx, exc, requirement) from None
        except Error as exc:
            # A dependency (the JWKS endpoint) is down: the call is refused, not authenticated.
            self._log(ctx, exc.reason or exc.code.name)
            raise
        except Exception as exc:
            log.error("authentication_error", method=ctx.full_method, error_type=type(exc).__name__)
            failure = Unauthenticated("the token could not be verified", reason="INVALID_TOKEN")
            raise self._token_failure(ctx, failure, requirement) from None

    def _token_failure(
        self, ctx: CallContext, exc: Unauthenticated, requirement: SecurityRequirement | None
    ) -> Unauthenticated:
        error = ("invalid_token", exc)
        if requirement is None:
            return self._fail(ctx, self._bearer_challenge(*error), exc)
        return self._fail(ctx, self._challenges(ctx, requirement, error), exc)

    async def _by_schemes(self, ctx: CallContext, requirement: SecurityRequirement) -> Principal:
        """The principal of the first requirement object the call satisfies."""
        found: dict[str, Principal | None] = {}
        denied: tuple[Principal, str, SecurityRequirement] | None = None
        for option in requirement.options:
            principals: list[Principal] = []
            for scheme in option.schemes:
                if scheme.name not in found:
                    found[scheme.name] = await self._by_scheme(ctx, scheme, requirement)
                principal = found[scheme.name]
                if principal is None:
                    break
                principals.append(principal)
            else:
                principal = _merge(principals)
                missing = option.missing_here(principal)
                if missing is None:
                    return principal
                denied = denied or (principal, missing, option)
        if denied is not None:
            principal, missing, option = denied
            bearer = any(scheme.kind == "bearer" for scheme in option.schemes)
            raise denial(ctx, principal, Decision(False, missing, "INSUFFICIENT_SCOPE"), bearer=bearer)
        used = authorization_scheme(ctx.metadata)
        if used is not None and used not in _auth_schemes(requirement):
            failure = Unauthenticated(
                f"the Authorization header's scheme is not accepted here; {_accepted(requirement)}",
                reason="INVALID_REQUEST",
            )
        else:
            failure = Unauthenticated(
                f"authentication required; {_accepted(requirement)}", reason="MISSING_CREDENTIALS"
            )
        raise self._fail(ctx, self._challenges(ctx, requirement), failure)

    async def _by_scheme(
        self, ctx: CallContext, scheme: SecurityScheme, requirement: SecurityRequirement
    ) -> Principal | None:
        """The principal ``scheme``'s credential identifies; None when the call carries none."""
        kind = scheme.kind
        if kind == "bearer":
            token = authorization(ctx.metadata, "bearer")
            return await self._verify_token(ctx, token, requirement) if token else None
        if kind == "basic":
            credentials = authorization(ctx.metadata, "basic")
            if credentials is None:
                return None
            basic = self._verifiers.get(scheme.name)
            if not isinstance(basic, BasicVerifier):
                raise self._unverifiable(ctx, scheme, "BasicVerifier")
            try:
                username, password = basic_credentials(credentials)
            except Unauthenticated as exc:
                raise self._fail(ctx, self._challenges(ctx, requirement), exc, scheme) from None
            return await self._checked(ctx, scheme, requirement, basic.verify_basic(username, password))
        if kind == "apiKey":
            key = api_key(ctx, scheme)
            if key is None:
                return None
            keys = self._verifiers.get(scheme.name)
            if not isinstance(keys, ApiKeyVerifier):
                raise self._unverifiable(ctx, scheme, "ApiKeyVerifier")
            return await self._checked(ctx, scheme, requirement, keys.verify_api_key(key))
        custom = self._verifiers.get(scheme.name)
        if not isinstance(custom, RequestVerifier):
            raise self._unverifiable(ctx, scheme, "RequestVerifier")
        return await self._checked(ctx, scheme, requirement, custom.verify_request(ctx), absent=True)

    def _unverifiable(self, ctx: CallContext, scheme: SecurityScheme, kind: str) -> Unavailable:
        # The service's startup check refuses this; fail closed where it was bypassed.
        self._log(ctx, "NO_VERIFIER", scheme)
        return Unavailable(
            f"security scheme {scheme.name!r} ({scheme.describe()}) has no {kind} registered",
            reason="NO_VERIFIER",
        )

    async def _checked(
        self,
        ctx: CallContext,
        scheme: SecurityScheme,
        requirement: SecurityRequirement,
        check: Awaitable[Principal | None],
        *,
        absent: bool = False,
    ) -> Principal | None:
        """Await a verifier; None is wrong credentials, unless ``absent`` (then: none sent)."""
        try:
            principal = await check
        except Unauthenticated as exc:
            raise self._fail(ctx, self._challenges(ctx, requirement), exc, scheme) from None
        except Error as exc:
            self._log(ctx, exc.reason or exc.code.name, scheme)
            raise
        except Exception as exc:
            log.error(
                "authentication_error",
                method=ctx.full_method,
                scheme=scheme.name,
                error_type=type(exc).__name__,
            )
            failure = Unauthenticated(
                f"the credentials for {scheme.name!r} could not be verified", reason="INVALID_CREDENTIALS"
            )
            raise self._fail(ctx, self._challenges(ctx, requirement), failure, scheme) from None
        if principal is None and not absent:
            failure = Unauthenticated(
                f"the credentials for {scheme.name!r} are not valid", reason="INVALID_CREDENTIALS"
            )
            raise self._fail(ctx, self._challenges(ctx, requirement), failure, scheme)
        return principal

    def _challenges(
        self,
        ctx: CallContext,
        requirement: SecurityRequirement,
        bearer_error: tuple[str, Unauthenticated] | None = None,
    ) -> str:
        """One challenge per accepted scheme (RFC 9110 section 11.6.1), in the document's order."""
        challenges: list[str] = []
        for option in requirement.options:
            for scheme in option.schemes:
                challenge = self._challenge_for(ctx, scheme, bearer_error)
                if challenge and challenge not in challenges:
                    challenges.append(challenge)
        return ", ".join(challenges)

    def _challenge_for(
        self, ctx: CallContext, scheme: SecurityScheme, bearer_error: tuple[str, Unauthenticated] | None
    ) -> str:
        realm = f'realm="{_quote(self._realm)}"' if self._realm else ""
        kind = scheme.kind
        if kind == "bearer":
            return self._bearer_challenge(*bearer_error) if bearer_error else self._challenge
        if kind == "basic":
            # RFC 7617 requires a realm.
            return f'Basic realm="{_quote(self._realm or ctx.service)}", charset="UTF-8"'
        if kind == "apiKey":
            params = [realm] if realm else []
            params += [f'in="{scheme.location}"', f'name="{_quote(scheme.parameter)}"']
            return "ApiKey " + ", ".join(params)
        if scheme.type == "http":
            return f"{scheme.scheme.capitalize()} {realm}".strip()
        return ""  # mutualTLS is a TLS matter, not an HTTP challenge

    def _bearer_challenge(self, error: str, exc: Unauthenticated) -> str:
        return (
            f'{self._challenge}{"," if " " in self._challenge else ""} error="{error}", '
            f'error_description="{_quote(exc.message)}"'
        )

    def _fail(
        self, ctx: CallContext, challenge: str, exc: Unauthenticated, scheme: SecurityScheme | None = None
    ) -> Unauthenticated:
        if challenge:
            ctx.response_metadata["www-authenticate"] = challenge
        self._log(ctx, exc.reason, scheme)
        return exc

    @staticmethod
    def _log(ctx: CallContext, reason: str, scheme: SecurityScheme | None = None) -> None:
        fields = {"scheme": scheme.name} if scheme is not None else {}
        log.info(
            "authentication_failed",
            method=ctx.full_method,
            kind=ctx.kind,
            peer=ctx.peer,
            reason=reason,
            **fields,
        )


def _merge(principals: list[Principal]) -> Principal:
    """One requirement object's principal: its first scheme's subject and claims, every scope and role."""
    first = principals[0]
    if len(principals) == 1:
        return first
    return Principal(
        first.subject,
        scopes=frozenset().union(*(p.scopes for p in principals)),
        roles=frozenset().union(*(p.roles for p in principals)),
        claims=first.claims,
    )


def _auth_schemes(requirement: SecurityRequirement) -> set[str]:
    """The ``Authorization`` auth-schemes the requirement's schemes read."""
    return {
        "bearer" if scheme.kind == "bearer" else scheme.scheme
        for option in requirement.options
        for scheme in option.schemes
        if scheme.type == "http" or scheme.kind == "bearer"
    }


def _accepted(requirement: SecurityRequirement) -> str:
    """``send basicAuth, or apiKey and bearerAuth``: what the caller may present."""
    return "send " + ", or ".join(
        " and ".join(s.name for s in option.schemes) for option in requirement.options
    )


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
