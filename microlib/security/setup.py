"""Build the security interceptors and components from the ``security`` settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

from microlib.config.jwks import read_jwks
from microlib.config.model import IssuerSettings, PropagationSettings, SecuritySettings, TrustedSigner
from microlib.core.errors import Unavailable
from microlib.core.lifecycle import Component
from microlib.security.authn import AuthenticationInterceptor
from microlib.security.authz import AuthorizationInterceptor, Authorizer, RequirementAuthorizer
from microlib.security.credentials import CredentialVerifier
from microlib.security.jwks import JwksKeySource, UrlSource
from microlib.security.jwt import Issuer, TokenVerifier
from microlib.security.keys import KeySource, StaticKeys
from microlib.security.oidc import jwks_locator
from microlib.security.opa import OpaAuthorizer
from microlib.security.principals import PrincipalSigner
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
        resolver: Decides each call's requirement, for both interceptors.
        signer: Signs the principal of each message and job sent, if
            ``security.propagation.signing_key_file`` is set.
    """

    authn: AuthenticationInterceptor
    authz: AuthorizationInterceptor
    components: Sequence[Component]
    verifier: TokenVerifier
    resolver: RequirementResolver
    signer: PrincipalSigner | None = None

    @classmethod
    def from_settings(
        cls,
        settings: SecuritySettings,
        *,
        authorizers: Sequence[Authorizer] = (),
        verifiers: Mapping[str, CredentialVerifier] | None = None,
        name: str = "security",
        service: str = "service",
    ) -> Security:
        """Build from settings.

        Args:
            settings: The ``security`` section.
            authorizers: Extra authorizers, run after the built-in checks and OPA.
            verifiers: Credential verifiers by OpenAPI security scheme name
                (HTTP basic, API keys, schemes without built-in enforcement).
            name: Prefix of the components' names.
            service: The service's name: the default signer of principal
                assertions and subject of its own identity.

        Returns:
            The interceptors and components.
        """
        components: list[Component] = []
        issuers = [
            _issuer(config, components, name=f"{name}.jwks.{i}") for i, config in enumerate(settings.issuers)
        ]
        verifier = TokenVerifier(
            issuers, cache_size=settings.verify_cache_size, cache_ttl=settings.verify_cache_ttl
        )
        resolver = _resolver(settings)
        chain: list[Authorizer] = [RequirementAuthorizer(deny_by_default=settings.deny_by_default)]
        if settings.opa is not None:
            opa = OpaAuthorizer.from_settings(settings.opa, name=f"{name}.opa")
            components.append(opa)
            chain.append(opa)
        chain.extend(authorizers)
        signer = PrincipalSigner.from_settings(settings.propagation, service=service)
        principals = _principals(settings.propagation, signer, components, name=name)
        return cls(
            authn=AuthenticationInterceptor(
                verifier, resolver, realm=settings.realm, verifiers=verifiers, principals=principals
            ),
            authz=AuthorizationInterceptor(chain, resolver),
            components=tuple(components),
            verifier=verifier,
            resolver=resolver,
            signer=signer,
        )

    def apply(self, settings: SecuritySettings) -> None:
        """Apply a reload of the section's reloadable fields: ``public_paths``,
        ``public_methods`` and ``methods`` decide every call from the next one on.

        Args:
            settings: The reloaded ``security`` section.
        """
        self.resolver.adopt(_resolver(settings))


def _resolver(settings: SecuritySettings) -> RequirementResolver:
    """The :class:`RequirementResolver` of the ``security`` section's access rules."""
    rules = {
        glob: SecurityRequirement(
            public=rule.public, scopes=frozenset(rule.scopes), roles=frozenset(rule.roles)
        )
        for glob, rule in settings.methods.items()
    }
    return RequirementResolver(
        public_paths=settings.public_paths, public_methods=settings.public_methods, rules=rules
    )


def _issuer(config: IssuerSettings, components: list[Component], *, name: str) -> Issuer:
    keys = _key_source(config, name=name)
    if isinstance(keys, JwksKeySource):
        components.append(keys)
    return Issuer(
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


def _principals(
    settings: PropagationSettings, signer: PrincipalSigner | None, components: list[Component], *, name: str
) -> TokenVerifier | None:
    """The verifier of principal assertions: the trusted signers, and this service's own key
    unless ``trusted`` lists its issuer (then that entry's keys, for rotation)."""
    configs = [trusted.as_issuer() for trusted in settings.trusted]
    if signer is not None and signer.issuer not in {config.issuer for config in configs}:
        configs.append(
            TrustedSigner(
                issuer=signer.issuer, keys=[signer.public_jwk()], algorithms=[signer.algorithm]
            ).as_issuer()
        )
    if not configs:
        return None
    issuers = [_issuer(config, components, name=f"{name}.signers.{i}") for i, config in enumerate(configs)]
    # Assertions do not repeat the way a caller's token does: no cache.
    return TokenVerifier(issuers, cache_size=0)


def _key_source(config: IssuerSettings, *, name: str) -> KeySource:
    if config.keys:
        return StaticKeys(config.keys)
    if config.jwks_file is not None:
        try:
            return StaticKeys(read_jwks(config.jwks_file))
        except PydanticCustomError as exc:  # the file changed since the settings were loaded
            raise Unavailable(f"issuer {config.issuer!r}: {exc.message()}", reason="JWKS_FILE") from None
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
