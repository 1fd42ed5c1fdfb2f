"""What a method requires of its caller, read from the contracts.

The transports store the called method's requirement in
``ctx.attributes["microlib.security"]``: a proto method's doors (gRPC and
REST transcoding) through :func:`microlib.security.method_access.call_attributes`,
which reads the ``microlib.v1.auth`` option with :func:`from_method_options`;
OpenAPI-first routes with :func:`from_openapi_security` (the operation's
``security`` / ``security_schemes`` generated into ``operations.py``),
keeping each alternative's :class:`~microlib.security.schemes.SecurityScheme`
objects so the ``authn`` interceptor reads the credentials each one names.
:class:`RequirementResolver` then decides every call, whatever its door.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from microlib.contract.definition import METHOD_ATTRIBUTE
from microlib.core.context import CallContext, Principal
from microlib.core.errors import InvalidArgument
from microlib.security.schemes import SecurityScheme

__all__ = [
    "HTTP_PATH_ATTRIBUTE",
    "HTTP_PATH_PARAMS_ATTRIBUTE",
    "PUBLIC",
    "SECURITY_ATTRIBUTE",
    "RequirementResolver",
    "SecurityRequirement",
    "from_descriptor_set",
    "from_method_options",
    "from_openapi_document",
    "from_openapi_operation",
    "from_openapi_security",
]

SECURITY_ATTRIBUTE = "microlib.security"
"""The ``ctx.attributes`` key holding the called method's :class:`SecurityRequirement`."""

HTTP_PATH_ATTRIBUTE = "http.route"
"""The ``ctx.attributes`` key where the HTTP edge puts the route template (``/books/{id}``)."""

HTTP_PATH_PARAMS_ATTRIBUTE = "http.path_params"
"""The ``ctx.attributes`` key where the HTTP doors put the path's values (``{"id": "42"}``)."""

_OPTION_KEY = "microlib.auth"
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@dataclass(frozen=True, slots=True)
class SecurityRequirement:
    """What a caller needs to call a method.

    Args:
        public: No authentication at all.
        scopes: OAuth scopes the caller must *all* hold.
        roles: Roles of which the caller must hold *at least one*.
        alternatives: Other requirements, any one of which also suffices
            (OpenAPI lists alternative security requirement objects).
        schemes: The security schemes whose credentials the caller must
            *all* present (one OpenAPI security requirement object); empty:
            a bearer token (JWT), as for proto methods and config rules.
    """

    public: bool = False
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    alternatives: tuple[SecurityRequirement, ...] = ()
    schemes: tuple[SecurityScheme, ...] = ()

    @property
    def options(self) -> tuple[SecurityRequirement, ...]:
        """This requirement and its alternatives, in order; any one suffices."""
        return (self, *self.alternatives)

    def missing(self, principal: Principal) -> str | None:
        """Why ``principal`` does not satisfy this requirement, or None if it does.

        Args:
            principal: The authenticated caller.

        Returns:
            A description naming what is missing (of the first alternative), or None.
        """
        reason = self.missing_here(principal)
        if reason is None or any(alt.missing(principal) is None for alt in self.alternatives):
            return None
        return reason

    def missing_here(self, principal: Principal) -> str | None:
        """Like :meth:`missing`, for this requirement alone (its alternatives aside).

        Args:
            principal: The authenticated caller.

        Returns:
            A description naming what is missing, or None.
        """
        if self.public:
            return None
        lacking = sorted(self.scopes - principal.scopes)
        if lacking:
            return f"missing scopes: {' '.join(lacking)}"
        if self.roles and not self.roles & principal.roles:
            return f"requires one of the roles: {' '.join(sorted(self.roles))}"
        return None


def from_openapi_operation(
    operation: Mapping[str, Any], document: Mapping[str, Any], *, where: str = ""
) -> SecurityRequirement | None:
    """The requirement of an OpenAPI operation.

    ``security`` on the operation overrides the document's. ``[]`` or a list
    holding ``{}`` makes the operation public. Scopes listed under an
    ``oauth2`` or ``openIdConnect`` scheme are scopes; under other schemes
    (``http``, ``apiKey``) they are role names, as OpenAPI 3.1 allows.

    Args:
        operation: The parsed operation object.
        document: The whole parsed document (for ``components.securitySchemes``).
        where: Where the operation is (``GET /books``), for errors.

    Returns:
        The requirement, or None when the contract declares none (the
        service's defaults then apply: authenticated, or denied when
        ``security.deny_by_default`` is set).

    Raises:
        InvalidArgument: A requirement names an undeclared or malformed scheme.
    """
    return from_openapi_security(
        operation.get("security", document.get("security")),
        document.get("components", {}).get("securitySchemes", {}),
        where=where,
    )


def from_openapi_security(
    security: Iterable[Mapping[str, Iterable[str]]] | None,
    schemes: Mapping[str, Mapping[str, Any]],
    *,
    where: str = "",
) -> SecurityRequirement | None:
    """The requirement of an operation's effective ``security`` list.

    What ``microlib.http.OpenAPIApp`` calls once per operation with the
    generated ``Operation.security`` and ``Operation.security_schemes``.
    Each requirement object becomes one option (its schemes all required);
    the objects are alternatives.

    Args:
        security: The security requirement objects (already defaulted to the
            document's), or None when neither declares any.
        schemes: The Security Scheme Object of each scheme the objects may
            name (``{"type": "http", "scheme": "basic"}``...).
        where: Where the operation is (``GET /books``), for errors.

    Returns:
        The requirement, or None when ``security`` is None.

    Raises:
        InvalidArgument: A requirement names an undeclared or malformed scheme.
    """
    if security is None:
        return None
    options: list[SecurityRequirement] = []
    for index, entry in enumerate(security):
        if not entry:
            return SecurityRequirement(public=True)
        scopes: set[str] = set()
        roles: set[str] = set()
        used: list[SecurityScheme] = []
        for name, values in entry.items():
            definition = schemes.get(name)
            if definition is None:
                raise InvalidArgument(
                    f"{where or 'operation'}: security[{index}] names undeclared scheme {name!r}",
                )
            scheme = SecurityScheme.from_definition(name, definition, where=where)
            used.append(scheme)
            (scopes if scheme.lists_scopes else roles).update(values)
        options.append(
            SecurityRequirement(scopes=frozenset(scopes), roles=frozenset(roles), schemes=tuple(used))
        )
    if not options:
        return SecurityRequirement(public=True)
    first, *rest = options
    return replace(first, alternatives=tuple(rest))


def from_openapi_document(document: Mapping[str, Any]) -> dict[str, SecurityRequirement | None]:
    """The requirement of every operation of an OpenAPI document.

    Args:
        document: The parsed document.

    Returns:
        Requirements by ``operationId`` (``"GET /path"`` for operations without one).

    Raises:
        InvalidArgument: An operation names an undeclared scheme.
    """
    found: dict[str, SecurityRequirement | None] = {}
    for path, item in (document.get("paths") or {}).items():
        for verb, operation in item.items():
            if verb not in _HTTP_METHODS or not isinstance(operation, Mapping):
                continue
            where = f"{verb.upper()} {path}"
            found[operation.get("operationId") or where] = from_openapi_operation(
                operation, document, where=where
            )
    return found


def from_method_options(
    options: Mapping[str, Any], service_options: Mapping[str, Any] | None = None
) -> SecurityRequirement | None:
    """The requirement of a proto method, from its ``(microlib.v1.auth)`` option.

    A method's own option replaces the service's ``(microlib.v1.default_auth)``.
    The option value may be a mapping (``{"public": True}``) or a message
    object with ``public``, ``scopes`` and ``roles`` attributes.

    Args:
        options: ``MethodDefinition.options``.
        service_options: The service's options, if any.

    Returns:
        The requirement, or None when neither declares one.
    """
    rule = options.get(_OPTION_KEY)
    if rule is None and service_options is not None:
        rule = service_options.get(_OPTION_KEY)
    if rule is None:
        return None
    fields = (
        rule
        if isinstance(rule, Mapping)
        else {n: getattr(rule, n, None) for n in ("public", "scopes", "roles")}
    )
    return SecurityRequirement(
        public=bool(fields.get("public")),
        scopes=frozenset(fields.get("scopes") or ()),
        roles=frozenset(fields.get("roles") or ()),
    )


def from_descriptor_set(file_descriptor_set: bytes) -> dict[str, SecurityRequirement]:
    """The requirements declared with ``(microlib.v1.auth)`` in a descriptor set.

    For runtimes holding ``ServiceDefinition.file_descriptor_set`` rather than
    decoded options; the generated code need not import ``auth.proto``.

    Args:
        file_descriptor_set: A serialized ``FileDescriptorSet``.

    Returns:
        Requirements by ``package.Service/Method`` (methods without a rule, on
        the method or its service, are absent).
    """
    # protobuf parses the descriptor set: imported here, as only proto services (the grpc
    # extra) have one, and an HTTP-only service runs without protobuf installed.
    from microlib.security.auth_option import auth_rules

    return {
        method: requirement
        for method, rule in auth_rules(file_descriptor_set).items()
        if (requirement := from_method_options({_OPTION_KEY: rule})) is not None
    }


class RequirementResolver:
    """Decides the effective requirement of a call: the one place every door's calls are decided.

    Precedence: public paths and methods from config, then config rules by
    ``service/method`` glob (first match), then the contract's requirement in
    ``ctx.attributes["microlib.security"]``. Public paths apply to HTTP routes
    only: a call of a proto method (``ctx.attributes["microlib.method"]``,
    over gRPC or REST transcoding) is decided by its method, so both doors
    give the same answer.

    Args:
        public_paths: Globs of HTTP paths that need no authentication.
        public_methods: Globs of ``service/method`` that need none.
        rules: Requirements by ``service/method`` glob, in order.
    """

    def __init__(
        self,
        *,
        public_paths: Iterable[str] = (),
        public_methods: Iterable[str] = (),
        rules: Mapping[str, SecurityRequirement] | None = None,
    ) -> None:
        self._public_paths = _compile(public_paths)
        self._public_methods = _compile(public_methods)
        self._rules = [(_compile([glob]), requirement) for glob, requirement in (rules or {}).items()]
        self._memo: dict[tuple[str, str, Any, Any], SecurityRequirement | None] = {}

    def adopt(self, other: RequirementResolver) -> None:
        """Decide from now on as ``other`` does (a reload of the rules): its public paths,
        public methods and rules replace these, and the decisions remembered are forgotten."""
        self._public_paths = other._public_paths
        self._public_methods = other._public_methods
        self._rules = other._rules
        self._memo = {}

    def resolve(self, ctx: CallContext) -> SecurityRequirement | None:
        """The requirement for ``ctx``, or None when nothing declares one."""
        attributes = ctx.attributes
        path = None if METHOD_ATTRIBUTE in attributes else attributes.get(HTTP_PATH_ATTRIBUTE)
        declared = attributes.get(SECURITY_ATTRIBUTE)
        # Route templates and method names are bounded, so the decision is
        # memoised: authn and authz both ask on every call.
        key = (ctx.service, ctx.method, path, declared)
        found = self._memo.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        result = self._resolve(ctx.full_method, path, declared)
        if len(self._memo) < _MEMO_SIZE:
            self._memo[key] = result
        return result

    def _resolve(self, method: str, path: Any, declared: Any) -> SecurityRequirement | None:
        if isinstance(path, str) and self._public_paths.match(path):
            return PUBLIC
        if self._public_methods.match(method):
            return PUBLIC
        for pattern, requirement in self._rules:
            if pattern.match(method):
                return requirement
        return declared if isinstance(declared, SecurityRequirement) else None


PUBLIC = SecurityRequirement(public=True)
"""The requirement of a public method."""

_NEVER = re.compile(r"(?!)")
_MISSING = object()
_MEMO_SIZE = 10_000


def _compile(globs: Iterable[str]) -> re.Pattern[str]:
    translated = [fnmatch.translate(glob) for glob in globs]
    return re.compile("|".join(translated)) if translated else _NEVER
