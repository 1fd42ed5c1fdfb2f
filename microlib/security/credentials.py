"""Credentials other than bearer tokens: where a call carries them, and who checks them.

microlib verifies bearer tokens itself (``security.issuers``). For HTTP basic,
API keys and any other scheme an OpenAPI document declares, the service
registers a verifier by scheme name (``install(service, verifiers={...})``):
a :class:`BasicVerifier`, an :class:`ApiKeyVerifier` or, for schemes with no
built-in reader (``http`` digest, ``mutualTLS``...), a :class:`RequestVerifier`.
The functions here read the credential a scheme names; none of them logs it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable
from urllib.parse import parse_qsl

from microlib.core._cookies import split_cookies
from microlib.core.errors import Unauthenticated

if TYPE_CHECKING:
    from microlib.core.context import CallContext, Principal
    from microlib.security.schemes import SecurityScheme

__all__ = [
    "HTTP_QUERY_ATTRIBUTE",
    "ApiKeyVerifier",
    "BasicVerifier",
    "CredentialVerifier",
    "RequestVerifier",
    "api_key",
    "authorization",
    "authorization_scheme",
    "basic_credentials",
]

HTTP_QUERY_ATTRIBUTE = "http.query"
"""The ``ctx.attributes`` key where the HTTP edge puts the raw query string of
an operation that accepts an API key in the query."""


@runtime_checkable
class BasicVerifier(Protocol):
    """Checks HTTP basic credentials (RFC 7617) for the schemes it is registered under."""

    async def verify_basic(self, username: str, password: str) -> Principal | None:
        """The caller these credentials identify.

        Args:
            username: The user-id, as sent.
            password: The password, as sent; never log it.

        Returns:
            The principal, or None when the username or password is wrong
            (the call is refused with ``INVALID_CREDENTIALS``).

        Raises:
            Unauthenticated: To refuse with a reason of your own.
        """
        ...


@runtime_checkable
class ApiKeyVerifier(Protocol):
    """Checks an API key (an ``apiKey`` scheme's header, query parameter or cookie)."""

    async def verify_api_key(self, key: str) -> Principal | None:
        """The caller this key identifies.

        Args:
            key: The key, as sent; never log it.

        Returns:
            The principal, or None when the key is not valid (the call is
            refused with ``INVALID_CREDENTIALS``).

        Raises:
            Unauthenticated: To refuse with a reason of your own.
        """
        ...


@runtime_checkable
class RequestVerifier(Protocol):
    """Authenticates a call by a scheme microlib cannot read itself (``http`` digest, ``mutualTLS``)."""

    async def verify_request(self, ctx: CallContext) -> Principal | None:
        """The caller, read from the call (``ctx.metadata``, ``ctx.peer``...).

        Args:
            ctx: The call.

        Returns:
            The principal, or None when the call carries no credential of
            this scheme (another alternative may still match).

        Raises:
            Unauthenticated: The credential is present and wrong.
        """
        ...


CredentialVerifier: TypeAlias = BasicVerifier | ApiKeyVerifier | RequestVerifier
"""Any verifier ``install(service, verifiers={scheme name: verifier})`` takes."""


def authorization(metadata: Mapping[str, str], auth_scheme: str) -> str | None:
    """The credentials of the ``Authorization`` header when it uses ``auth_scheme``.

    Args:
        metadata: Lower-cased headers or gRPC metadata.
        auth_scheme: Lower-case auth-scheme (``basic``, ``bearer``); matched without case.

    Returns:
        What follows the auth-scheme, stripped (possibly empty), or None when
        the header is absent or uses another auth-scheme.
    """
    header = metadata.get("authorization")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    return credentials.strip() if scheme.lower() == auth_scheme else None


def authorization_scheme(metadata: Mapping[str, str]) -> str | None:
    """The lower-cased auth-scheme of the ``Authorization`` header, None without one."""
    header = metadata.get("authorization")
    return header.partition(" ")[0].lower() if header else None


def basic_credentials(credentials: str) -> tuple[str, str]:
    """Decode ``Authorization: Basic`` credentials (RFC 7617: base64 of UTF-8 ``user:password``).

    Args:
        credentials: What follows ``Basic``.

    Returns:
        The username and the password.

    Raises:
        Unauthenticated: ``INVALID_REQUEST`` when they are not base64 of ``user:password``.
    """
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    username, colon, password = decoded.partition(":")
    if not colon:
        raise Unauthenticated(
            "malformed Basic credentials: expected base64 of user:password", reason="INVALID_REQUEST"
        )
    return username, password


def api_key(ctx: CallContext, scheme: SecurityScheme) -> str | None:
    """The API key an ``apiKey`` scheme names, from its header, query parameter or cookie.

    Args:
        ctx: The call.
        scheme: The scheme (its ``location`` and ``parameter``).

    Returns:
        The key, or None when absent or empty.
    """
    if scheme.location == "header":
        return ctx.metadata.get(scheme.parameter.lower()) or None
    if scheme.location == "cookie":
        return split_cookies(ctx.metadata.get("cookie", "")).get(scheme.parameter) or None
    query = ctx.attributes.get(HTTP_QUERY_ATTRIBUTE) or ""
    return next((value for name, value in parse_qsl(query) if name == scheme.parameter and value), None)
