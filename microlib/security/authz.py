"""Authorization after authentication: the ``Authorizer`` protocol and the ``authz`` interceptor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import structlog

from microlib.core.chain import CallNext
from microlib.core.context import CallContext, Principal
from microlib.core.errors import PermissionDenied, Unauthenticated
from microlib.security.requirements import RequirementResolver, SecurityRequirement

__all__ = ["AuthorizationInterceptor", "Authorizer", "Decision", "RequirementAuthorizer", "denial"]

log = structlog.get_logger("microlib.security")


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one authorizer.

    Args:
        allowed: Whether the call may proceed.
        message: Why not, shown to the caller in the 403 / PERMISSION_DENIED.
        reason: A stable UPPER_SNAKE cause (the error's ``reason``).
    """

    allowed: bool
    message: str = ""
    reason: str = "ACCESS_DENIED"


ALLOW = Decision(True)


@runtime_checkable
class Authorizer(Protocol):
    """Decides whether an authenticated principal may make a call."""

    async def authorize(
        self, ctx: CallContext, principal: Principal, requirement: SecurityRequirement | None
    ) -> Decision:
        """Decide for one call.

        Args:
            ctx: The call (method, metadata, attributes).
            principal: The authenticated caller.
            requirement: The method's effective requirement, None if undeclared.

        Returns:
            The decision.
        """
        ...


class RequirementAuthorizer:
    """Built-in RBAC and scope checks against the declared requirement.

    Args:
        deny_by_default: Deny methods that declare no requirement (instead of
            allowing any authenticated caller).
    """

    def __init__(self, *, deny_by_default: bool = False) -> None:
        self._deny_by_default = deny_by_default

    async def authorize(
        self, ctx: CallContext, principal: Principal, requirement: SecurityRequirement | None
    ) -> Decision:
        """Allow when ``principal`` satisfies ``requirement``."""
        if requirement is None:
            if self._deny_by_default:
                return Decision(False, "no access rule is declared for this method", "NO_ACCESS_RULE")
            return ALLOW
        missing = requirement.missing(principal)
        return ALLOW if missing is None else Decision(False, missing, "INSUFFICIENT_SCOPE")


class AuthorizationInterceptor:
    """Runs every authorizer (all must allow) for each non-public call.

    Args:
        authorizers: Evaluated in order; the first denial ends the call.
        resolver: Gives the effective requirement of a call.
    """

    def __init__(self, authorizers: Sequence[Authorizer], resolver: RequirementResolver) -> None:
        self._authorizers = tuple(authorizers)
        self._resolver = resolver

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        """Check the call, then continue.

        Raises:
            PermissionDenied: An authorizer denied the call.
            Unauthenticated: A non-public call reached here without a principal.
        """
        requirement = self._resolver.resolve(ctx)
        if requirement is not None and requirement.public:
            return await call_next(ctx)
        principal = ctx.principal
        if principal is None:
            raise Unauthenticated("authentication required", reason="MISSING_CREDENTIALS")
        for authorizer in self._authorizers:
            decision = await authorizer.authorize(ctx, principal, requirement)
            if not decision.allowed:
                raise denial(ctx, principal, decision)
        return await call_next(ctx)


def denial(
    ctx: CallContext, principal: Principal, decision: Decision, *, bearer: bool = True
) -> PermissionDenied:
    """Log a denied call and build its error.

    Args:
        ctx: The call.
        principal: The authenticated caller.
        decision: The denying decision.
        bearer: Whether the caller used a bearer token (an ``INSUFFICIENT_SCOPE``
            denial then carries RFC 6750's ``insufficient_scope`` challenge).

    Returns:
        The error to raise.
    """
    log.info(
        "authorization_denied",
        method=ctx.full_method,
        kind=ctx.kind,
        subject=principal.subject,
        reason=decision.reason,
    )
    if bearer and decision.reason == "INSUFFICIENT_SCOPE":
        ctx.response_metadata["www-authenticate"] = 'Bearer error="insufficient_scope"'
    return PermissionDenied(decision.message or "not allowed", reason=decision.reason)
