"""OpenID Connect discovery: find an issuer's JWKS from its discovery document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from microlib.core.errors import FailedPrecondition, Unavailable

__all__ = ["ProviderMetadata", "discover", "jwks_locator"]


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of ``/.well-known/openid-configuration`` a resource server uses.

    Args:
        issuer: The ``issuer`` the provider names itself.
        jwks_uri: Where its signing keys are published.
    """

    issuer: str
    jwks_uri: str


async def discover(client: httpx.AsyncClient, url: str, *, expected_issuer: str) -> ProviderMetadata:
    """Fetch and check a discovery document.

    The document's ``issuer`` must equal the configured one (OpenID Connect
    Discovery 1.0, section 4.3), or a misconfigured or hijacked document could
    make the service trust another issuer's keys.

    Args:
        client: The HTTP client to use.
        url: The discovery document URL.
        expected_issuer: The issuer configured for it.

    Returns:
        The provider metadata.

    Raises:
        Unavailable: The document could not be fetched.
        FailedPrecondition: The document is invalid or names another issuer.
    """
    try:
        response = await client.get(url)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unavailable(
            f"OIDC discovery {url}: {type(exc).__name__}: {exc}", reason="DISCOVERY_UNAVAILABLE"
        ) from exc
    if not isinstance(document, dict):
        raise FailedPrecondition(f"OIDC discovery {url}: not a JSON object", reason="DISCOVERY_INVALID")
    issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
    if issuer != expected_issuer:
        raise FailedPrecondition(
            f"OIDC discovery {url}: issuer {issuer!r} is not the configured {expected_issuer!r}",
            reason="DISCOVERY_ISSUER_MISMATCH",
        )
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise FailedPrecondition(f"OIDC discovery {url}: no jwks_uri", reason="DISCOVERY_INVALID")
    return ProviderMetadata(issuer=issuer, jwks_uri=jwks_uri)


def jwks_locator(discovery_url: str, *, issuer: str) -> Callable[[httpx.AsyncClient], Awaitable[str]]:
    """A function finding ``jwks_uri`` by discovery, for :class:`~microlib.security.jwks.JwksKeySource`.

    Discovery runs again on each key refresh, so a provider that moves its key
    set is followed.

    Args:
        discovery_url: The ``/.well-known/openid-configuration`` URL.
        issuer: The issuer the document must name.

    Returns:
        The locator.
    """

    async def locate(client: httpx.AsyncClient) -> str:
        return (await discover(client, discovery_url, expected_issuer=issuer)).jwks_uri

    return locate
