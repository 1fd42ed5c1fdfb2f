"""Security schemes: how the caller of an OpenAPI operation presents a credential.

A ``components.securitySchemes`` entry reduced to what enforcing it takes at
runtime, as ``microlib codegen`` writes it into ``Operation.security_schemes``
(``{"type": "apiKey", "in": "header", "name": "X-API-Key"}``). Every type
OpenAPI 3.0/3.1 defines is known; each falls into one :data:`SchemeKind`,
which says what enforces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from microlib.core.errors import InvalidArgument

__all__ = ["SchemeKind", "SecurityScheme"]

SchemeKind = Literal["bearer", "basic", "apiKey", "custom"]
"""What enforces a scheme: ``bearer`` (a JWT, checked against ``security.issuers``),
``basic`` and ``apiKey`` (a registered verifier, fed the credential), ``custom``
(a registered verifier reading the call itself)."""

_TYPES = frozenset({"apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"})
_LOCATIONS = frozenset({"header", "query", "cookie"})
_SCOPE_TYPES = frozenset({"oauth2", "openIdConnect"})


@dataclass(frozen=True, slots=True)
class SecurityScheme:
    """One declared security scheme.

    Args:
        name: Its key in ``components.securitySchemes`` (what verifiers are registered under).
        type: ``http``, ``apiKey``, ``oauth2``, ``openIdConnect`` or ``mutualTLS``.
        scheme: For ``http``: the auth-scheme, lower-cased (``basic``, ``bearer``, ``digest``).
        location: For ``apiKey``: ``header``, ``query`` or ``cookie`` (OpenAPI's ``in``).
        parameter: For ``apiKey``: the name of that header, query parameter or cookie.
        bearer_format: For ``http`` bearer: the token format, informative only (``JWT``).
    """

    name: str
    type: str
    scheme: str = ""
    location: str = ""
    parameter: str = ""
    bearer_format: str = ""

    @classmethod
    def from_definition(
        cls, name: str, definition: Mapping[str, Any] | str, *, where: str = ""
    ) -> SecurityScheme:
        """Read a Security Scheme Object (the fields the runtime needs).

        Args:
            name: The scheme's name.
            definition: The object, as in the document or in ``Operation.security_schemes``.
            where: Where it is used (``GET /books``), for errors.

        Returns:
            The scheme.

        Raises:
            InvalidArgument: The type is unknown, or a field the type needs is missing.
        """
        at = f"{where or 'operation'}: security scheme {name!r}"
        if not isinstance(definition, Mapping):
            # Code generated before the whole definition was kept held the type alone.
            raise InvalidArgument(
                f"{at} has no definition (only {definition!r}): run `microlib codegen` again"
            )
        kind = definition.get("type")
        if kind not in _TYPES:
            raise InvalidArgument(f"{at} has type {kind!r}; expected one of {', '.join(sorted(_TYPES))}")
        if kind == "http":
            scheme = definition.get("scheme")
            if not isinstance(scheme, str) or not scheme.strip():
                raise InvalidArgument(f"{at} is of type http and needs a 'scheme' (basic, bearer...)")
            return cls(
                name, kind, scheme.strip().lower(), bearer_format=str(definition.get("bearerFormat", ""))
            )
        if kind == "apiKey":
            location, parameter = definition.get("in"), definition.get("name")
            if location not in _LOCATIONS or not isinstance(parameter, str) or not parameter:
                raise InvalidArgument(
                    f"{at} is of type apiKey and needs 'in' (header, query or cookie) and a 'name'"
                )
            return cls(name, kind, location=location, parameter=parameter)
        return cls(name, kind)

    @property
    def kind(self) -> SchemeKind:
        """What enforces it (see :data:`SchemeKind`)."""
        if self.type in _SCOPE_TYPES or (self.type == "http" and self.scheme == "bearer"):
            return "bearer"
        if self.type == "http" and self.scheme == "basic":
            return "basic"
        return "apiKey" if self.type == "apiKey" else "custom"

    @property
    def lists_scopes(self) -> bool:
        """Whether a requirement's list under this scheme holds scopes (else role names)."""
        return self.type in _SCOPE_TYPES

    def describe(self) -> str:
        """A short description for messages: ``http basic``, ``apiKey in header 'X-API-Key'``."""
        if self.type == "http":
            return f"http {self.scheme}"
        if self.type == "apiKey":
            return f"apiKey in {self.location} {self.parameter!r}"
        return self.type
