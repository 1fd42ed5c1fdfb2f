"""The ``authn`` interceptor: bearer token → ``ctx.principal``, on every transport.

HTTP headers and gRPC metadata reach the chain with lower-case keys, so one
interceptor reads ``authorization`` for both. It fails closed: a missing,
malformed or invalid token, and any unexpected error while verifying, ends the
call with ``Unauthenticated`` (HTTP 401 with ``WWW-Authenticate``, gRPC
``UNAUTHENTICATED``), never a 500. The reason is logged, the token never.
"""

from __future__ import annotations

from typing import Any

import structlog

from microlib.core.chain import CallNext
from microlib.core.context import CallContext
from microlib.core.errors import Error, Unauthenticated
from microlib.security.jwt import TokenVerifier
from microlib.security.requirements import RequirementResolver

__all__ = ["AuthenticationInterceptor"]

log = structlog.get_logger("microlib.security")


class AuthenticationInterceptor:
    """Authenticates each call that is not public.

    Args:
        verifier: Verifies bearer tokens.
        resolver: Decides which calls are public.
        realm: The ``realm`` in ``WWW-Authenticate`` (omitted when empty).
    """

    def __init__(self, verifier: TokenVerifier, resolver: RequirementResolver, *, realm: str = "") -> None:
        self._verifier = verifier
        self._resolver = resolver
        self._challenge = f'Bearer realm="{_quote(realm)}"' if realm else "Bearer"

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Set ``ctx.principal`` from the bearer token, then continue.

        Raises:
            Unauthenticated: The call is not public and has no valid token.
        """
        requirement = self._resolver.resolve(ctx)
        if requirement is not None and requirement.public:
            return await call_next(ctx)
        ctx.principal = await self._authenticate(ctx)
        return await call_next(ctx)

    async def _authenticate(self, ctx: CallContext) -> Any:
        header = ctx.metadata.get("authorization")
        if not header:
            # RFC 6750 section 3.1: no error code when the request had no credentials.
            ctx.response_metadata["www-authenticate"] = self._challenge
            self._log(ctx, "MISSING_CREDENTIALS")
            raise Unauthenticated("authentication required", reason="MISSING_CREDENTIALS")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise self._fail(
                ctx, "invalid_request", Unauthenticated("expected a Bearer token", reason="INVALID_REQUEST")
            )
        try:
            return await self._verifier.verify(token)
        except Unauthenticated as exc:
            raise self._fail(ctx, "invalid_token", exc) from None
        except Error as exc:
            # A dependency (the JWKS endpoint) is down: the call is refused, not authenticated.
            self._log(ctx, exc.reason or exc.code.name)
            raise
        except Exception as exc:
            log.error("authentication_error", method=ctx.full_method, error_type=type(exc).__name__)
            failure = Unauthenticated("the token could not be verified", reason="INVALID_TOKEN")
            raise self._fail(ctx, "invalid_token", failure) from None

    def _fail(self, ctx: CallContext, error: str, exc: Unauthenticated) -> Unauthenticated:
        ctx.response_metadata["www-authenticate"] = (
            f'{self._challenge}{"," if " " in self._challenge else ""} error="{error}", '
            f'error_description="{_quote(exc.message)}"'
        )
        self._log(ctx, exc.reason)
        return exc

    @staticmethod
    def _log(ctx: CallContext, reason: str) -> None:
        log.info("authentication_failed", method=ctx.full_method, kind=ctx.kind, peer=ctx.peer, reason=reason)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
