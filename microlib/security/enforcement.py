"""Refuse to start a service whose served contracts declare security that nothing enforces.

A served contract's security is a promise. When the service starts, before
any component, every security scheme an OpenAPI operation mounted in the
service requires must have something to enforce it: ``security.issuers`` for
bearer, ``oauth2`` and ``openIdConnect`` schemes, a registered verifier of the
right kind for the others. Otherwise the start fails, naming each scheme and
the operations that use it; it never serves them open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from microlib.core.lifecycle import StartupError
from microlib.security.credentials import ApiKeyVerifier, BasicVerifier, RequestVerifier

if TYPE_CHECKING:
    from microlib.security.requirements import SecurityRequirement
    from microlib.security.schemes import SecurityScheme

__all__ = [
    "SecurityNotEnforced",
    "ServedOperation",
    "ServedOperations",
    "check_served",
    "served_apps",
    "served_requirements",
    "unenforced",
]


class SecurityNotEnforced(Exception):
    """A served operation requires security that nothing in the service enforces."""


class ServedOperation(Protocol):
    """What the check names an operation by (``microlib.http.openapi.Operation`` is one)."""

    @property
    def operation_id(self) -> str: ...

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...


@runtime_checkable
class ServedOperations(Protocol):
    """An ASGI app serving a contract's operations, as the check reads it.

    ``microlib.http.OpenAPIApp`` is one: security reads what it serves
    without importing the HTTP package.
    """

    @property
    def operations(self) -> Sequence[ServedOperation]:
        """Every operation it serves."""
        ...

    @property
    def requirements(self) -> Sequence[tuple[ServedOperation, SecurityRequirement]]:
        """Each operation that requires authentication, with its requirement."""
        ...

    @property
    def chain(self) -> object:
        """The chain (or interceptors) its operations run."""
        ...


@runtime_checkable
class _Enforcer(Protocol):
    """A component enforcing contract security (the installed ``SecurityFeature``)."""

    name: str

    def unenforced(self, declared: Mapping[str, SecurityRequirement]) -> list[str]: ...


_VERIFIERS: dict[str, tuple[type, str]] = {
    "basic": (BasicVerifier, "a BasicVerifier (async def verify_basic(username, password))"),
    "apiKey": (ApiKeyVerifier, "an ApiKeyVerifier (async def verify_api_key(key))"),
    "custom": (RequestVerifier, "a RequestVerifier (async def verify_request(ctx))"),
}


def check_served(routes: Iterable[Any], components: Iterable[object], chain: object = None) -> None:
    """Refuse to start when a served operation's security is not enforced.

    Args:
        routes: The service's HTTP routes (``service.http.routes``).
        components: The service's components.
        chain: The service's chain: with security installed, every served
            ``OpenAPIApp`` must run it, or no access rule reaches its operations.

    Raises:
        StartupError: Naming the schemes and operations: security is not
            installed while an operation declares some, a scheme has no
            issuer or verifier to enforce it, or an app runs interceptors of
            its own instead of the service's chain.
    """
    apps = served_apps(routes)
    declared = {_where(path, op): requirement for path, app in apps for op, requirement in app.requirements}
    # Asked first whether it has the method, as _serves does.
    enforcers = [c for c in components if hasattr(c, "unenforced") and isinstance(c, _Enforcer)]
    if declared and not enforcers:
        raise StartupError(
            "security",
            SecurityNotEnforced(
                "the served operations declare security, but none is installed: call "
                f"microlib.security.install(service) before starting; operations: {', '.join(declared)}"
            ),
        )
    apart = [_where(path, op) for path, app in apps if app.chain is not chain for op in app.operations]
    if enforcers and chain is not None and apart:
        raise StartupError(
            "security",
            SecurityNotEnforced(
                "these operations run interceptors of their own, not the service's chain, so no access "
                "rule (authentication, security.methods, deny_by_default) applies to them: build their "
                f"OpenAPIApp with chain=service.chain; operations: {', '.join(apart)}"
            ),
        )
    for enforcer in enforcers:
        problems = enforcer.unenforced(declared)
        if problems:
            raise StartupError(enforcer.name, SecurityNotEnforced("; ".join(problems)))


def served_requirements(routes: Iterable[Any], prefix: str = "") -> dict[str, SecurityRequirement]:
    """The requirement of every non-public OpenAPI operation mounted among ``routes``.

    Args:
        routes: Starlette routes.
        prefix: The path they are mounted under.

    Returns:
        Requirements by ``METHOD /mounted/path (operationId)``.
    """
    apps = served_apps(routes, prefix)
    return {_where(path, op): requirement for path, app in apps for op, requirement in app.requirements}


def served_apps(routes: Iterable[Any], prefix: str = "") -> list[tuple[str, ServedOperations]]:
    """Every app serving contract operations (an ``OpenAPIApp``) mounted among ``routes``,
    with the path it is served under.

    Mounts, routers and middleware (which keeps the app it wraps as ``.app``,
    as Starlette's and most ASGI middleware do) are followed.

    Args:
        routes: Starlette routes.
        prefix: The path they are mounted under.
    """
    found: list[tuple[str, ServedOperations]] = []
    for route in routes:
        app = _unwrapped(getattr(route, "app", None))
        path = prefix + getattr(route, "path", "")
        if _serves(app):
            found.append((path, app))
        else:
            inner = getattr(route, "routes", None) or getattr(app, "routes", None) or ()
            found += served_apps(inner, path)
    return found


def _serves(app: object) -> bool:
    """``isinstance(app, ServedOperations)``, asked first whether ``app`` has ``operations``.

    typing's runtime check walks the protocol's members on every call (about 100k
    instructions on CPython 3.11), and the walk asks it of every route and middleware
    layer, which have none of them: 5M instructions of the example's start.
    """
    return hasattr(app, "operations") and isinstance(app, ServedOperations)


def _where(path: str, op: ServedOperation) -> str:
    """Where an operation is served: ``DELETE /api/books/{id} (deleteBook)``."""
    return f"{op.method} {path}{op.path} ({op.operation_id})"


def _unwrapped(app: Any) -> Any:
    """``app`` without the middleware around it: each layer keeps the app it wraps as ``.app``."""
    seen = set()
    while not _serves(app) and hasattr(app, "app") and id(app) not in seen:
        seen.add(id(app))
        app = app.app
    return app


def unenforced(
    declared: Mapping[str, SecurityRequirement], verifiers: Mapping[str, object], *, issuers: bool
) -> list[str]:
    """The schemes of ``declared`` that nothing enforces, and verifiers nothing uses.

    Args:
        declared: Requirements by where the operation is.
        verifiers: The registered verifiers, by scheme name.
        issuers: Whether ``security.issuers`` holds any issuer.

    Returns:
        One problem per scheme (naming it and its operations), and one for
        verifiers registered under names no served operation requires.
    """
    users: dict[SecurityScheme, dict[str, None]] = {}  # the operations in order, once each
    for where, requirement in declared.items():
        for option in requirement.options:
            for scheme in option.schemes:
                users.setdefault(scheme, {})[where] = None
    problems = []
    for scheme, wheres in users.items():
        problem = _problem(scheme, verifiers.get(scheme.name), issuers=issuers)
        if problem:
            problems.append(
                f"security scheme {scheme.name!r} ({scheme.describe()}) {problem}; "
                f"required by {', '.join(wheres)}"
            )
    used = {scheme.name for scheme in users}
    unknown = sorted(set(verifiers) - used)
    if unknown:
        problems.append(
            f"verifiers are registered for {', '.join(map(repr, unknown))}, which no served operation "
            f"requires (schemes required: {', '.join(map(repr, sorted(used))) or 'none'})"
        )
    return problems


def _problem(scheme: SecurityScheme, verifier: object, *, issuers: bool) -> str:
    kind = scheme.kind
    if kind == "bearer":
        if verifier is not None:
            return "is a bearer token checked against security.issuers; it takes no verifier"
        return "" if issuers else "needs a JWT issuer, but security.issuers is empty"
    expected, description = _VERIFIERS[kind]
    if verifier is None:
        missing = "has no built-in enforcement" if kind == "custom" else "has no verifier"
        return f"{missing}: register {description} with install(service, verifiers={{{scheme.name!r}: ...}})"
    if not isinstance(verifier, expected):
        return f"has a verifier of type {type(verifier).__name__}, which is not {description}"
    return ""
