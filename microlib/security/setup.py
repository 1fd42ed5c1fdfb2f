"""Build the security interceptors and components from the ``security`` settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from microlib.config.model import IssuerSettings, SecuritySettings
from microlib.core.lifecycle import Component
from microlib.security.authn import AuthenticationInterceptor
from microlib.security.authz import AuthorizationInterceptor, Authorizer, RequirementAuthorizer
from microlib.security.jwks import JwksKeySource, UrlSource
from microlib.security.jwt import Issuer, TokenVerifier
from microlib.security.keys import KeySource, StaticKeys
from microlib.security.oidc import jwks_locator
from microlib.security.opa import OpaAuthorizer
from microlib.security.requirements import RequirementResolver, SecurityRequirement

__all__ = ["Security"]


@dataclass(frozen=True, slots=True)
class Security:
    """The pieces a service installs: two interceptors and their components.

    Install ``authn`` and ``authz`` in the chain slots of the same names and
    register each of ``components`` (JWKS sources, the OPA client) with the
    service so they start, stop and report health with it.

    Args:
        authn: The authentication interceptor.
        authz: The authorization interceptor.
        components: Lifecycle components they depend on.
        verifier: The token verifier (for non-chain uses such as websockets).
    """

    authn: AuthenticationInterceptor
    authz: AuthorizationInterceptor
    components: Sequence[Component]
    verifier: TokenVerifier

    @classmethod
    def from_settings(
        cls, settings: SecuritySettings, *, authorizers: Sequence[Authorizer] = (), name: str = "security"
    ) -> Security:
        """Build from settings.

        Args:
            settings: The ``security`` section.
            authorizers: Extra authorizers, run after the built-in checks and OPA.
            name: Prefix of the components' names.

        Returns:
            The interceptors and components.
        """
        components: list[Component] = []
        issuers = []
        for index, config in enumerate(settings.issuers):
            keys = _key_source(config, name=f"{name}.jwks.{index}")
            if isinstance(keys, JwksKeySource):
                components.append(keys)
            issuers.append(
                Issuer(
                    issuer=config.issuer,
                    keys=keys,
                    audiences=tuple(config.audiences),
                    algorithms=tuple(config.algorithms),
                    leeway=config.leeway,
                    max_token_size=config.max_token_size,
                    require=tuple(config.require),
                    token_types=tuple(config.token_types),
                    scope_claim=config.scope_claim,
                    roles_claim=config.roles_claim,
                )
            )
        verifier = TokenVerifier(
            issuers, cache_size=settings.verify_cache_size, cache_ttl=settings.verify_cache_ttl
        )
        resolver = RequirementResolver(
            public_paths=settings.public_paths,
            public_methods=settings.public_methods,
            rules={
                glob: SecurityRequirement(
                    public=rule.public, scopes=frozenset(rule.scopes), roles=frozenset(rule.roles)
                )
                for glob, rule in settings.methods.items()
            },
        )
        chain: list[Authorizer] = [RequirementAuthorizer(deny_by_default=settings.deny_by_default)]
        if settings.opa is not None:
            opa = OpaAuthorizer.from_settings(settings.opa, name=f"{name}.opa")
            components.append(opa)
            chain.append(opa)
        chain.extend(authorizers)
        return cls(
            authn=AuthenticationInterceptor(verifier, resolver, realm=settings.realm),
            authz=AuthorizationInterceptor(chain, resolver),
            components=tuple(components),
            verifier=verifier,
        )


def _key_source(config: IssuerSettings, *, name: str) -> KeySource:
    if config.keys:
        return StaticKeys(config.keys)
    url: UrlSource
    if config.discovery_url:
        url = jwks_locator(config.discovery_url, issuer=config.issuer)
    else:
        assert config.jwks_url is not None  # guaranteed by IssuerSettings' validator
        url = config.jwks_url
    return JwksKeySource(
        url,
        cache_ttl=config.jwks_cache_ttl,
        min_refresh_interval=config.jwks_min_refresh_interval,
        timeout=config.http_timeout,
        name=name,
    )
