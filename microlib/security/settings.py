"""The ``security`` and ``secrets`` settings sections.

``security`` configures who may call (token issuers, public routes) and what
they may do (contract requirements, per-method overrides, OPA); ``secrets``
configures where secret values come from.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, model_validator

from microlib.config.model import Reloadable, Section

__all__ = [
    "AwsSecretsSettings",
    "IssuerSettings",
    "MethodRule",
    "OpaSettings",
    "SecretsSettings",
    "SecuritySettings",
    "VaultSettings",
]

_DEFAULT_PUBLIC_PATHS = ["/health", "/health/*", "/metrics", "/docs", "/docs/*", "/openapi.json"]
_DEFAULT_PUBLIC_METHODS = [
    "grpc.health.v1.Health/*",
    "grpc.reflection.v1.ServerReflection/*",
    "grpc.reflection.v1alpha.ServerReflection/*",
]


class IssuerSettings(Section):
    """One trusted token issuer; exactly one of the key sources is set.

    ``discovery_url`` reads ``jwks_uri`` from the OIDC discovery document;
    ``jwks_url`` names the key set directly; ``keys`` holds static JWKs (no
    network, for tests and air-gapped services).
    """

    issuer: str = Field(min_length=1)
    discovery_url: str | None = None
    jwks_url: str | None = None
    keys: list[dict[str, Any]] = Field(default_factory=list)
    audiences: list[str] = Field(min_length=1)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"], min_length=1)
    leeway: float = Field(default=30.0, ge=0)
    max_token_size: int = Field(default=8192, ge=64)
    require: list[str] = Field(default_factory=lambda: ["exp", "iat", "sub"])
    token_types: list[str] = Field(default_factory=list)
    scope_claim: str = "scope"
    roles_claim: str = "roles"
    jwks_cache_ttl: float = Field(default=300.0, gt=0)
    jwks_min_refresh_interval: float = Field(default=30.0, ge=0)
    http_timeout: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _one_key_source(self) -> IssuerSettings:
        sources = [n for n in ("discovery_url", "jwks_url", "keys") if getattr(self, n)]
        if len(sources) != 1:
            raise ValueError(
                f"issuer {self.issuer!r}: set exactly one of discovery_url, jwks_url, keys "
                f"(got {sources or 'none'})"
            )
        if "none" in (a.lower() for a in self.algorithms):
            raise ValueError(f"issuer {self.issuer!r}: algorithm 'none' is never accepted")
        return self


class MethodRule(Section):
    """A requirement set in config for methods matching a pattern.

    Config rules take precedence over the contract, so operators can tighten
    (or open) a method without a new release.
    """

    public: bool = False
    scopes: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)


class OpaSettings(Section):
    """Open Policy Agent: a decision API URL or local Rego policy files."""

    url: str | None = None
    policy_files: list[str] = Field(default_factory=list)
    query: str = "data.microlib.authz.allow"
    cache_ttl: float = Field(default=5.0, ge=0)
    cache_size: int = Field(default=10_000, ge=0)
    timeout: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _one_engine(self) -> OpaSettings:
        if bool(self.url) == bool(self.policy_files):
            raise ValueError("security.opa: set exactly one of url, policy_files")
        return self


class SecuritySettings(Section):
    """Authentication and authorization for every transport (key ``security``)."""

    enabled: bool = True
    issuers: list[IssuerSettings] = Field(default_factory=list)
    public_paths: Annotated[list[str], Reloadable()] = Field(
        default_factory=lambda: list(_DEFAULT_PUBLIC_PATHS)
    )
    public_methods: Annotated[list[str], Reloadable()] = Field(
        default_factory=lambda: list(_DEFAULT_PUBLIC_METHODS)
    )
    methods: Annotated[dict[str, MethodRule], Reloadable()] = Field(default_factory=dict)
    deny_by_default: bool = False
    verify_cache_size: int = Field(default=4096, ge=0)
    verify_cache_ttl: float = Field(default=60.0, ge=0)
    realm: str = ""
    opa: OpaSettings | None = None


class VaultSettings(Section):
    """HashiCorp Vault KV v2; the token may come from a file (agent sink)."""

    url: str
    token: SecretStr | None = None
    token_file: str | None = None
    namespace: str | None = None
    timeout: float = Field(default=5.0, gt=0)
    verify: bool | str = True


class AwsSecretsSettings(Section):
    """AWS Secrets Manager; credentials come from boto3's default chain."""

    region: str | None = None
    endpoint_url: str | None = None


class SecretsSettings(Section):
    """Secret stores and caching (key ``secrets``)."""

    cache_ttl: float = Field(default=300.0, ge=0)
    refresh_interval: float = Field(default=60.0, gt=0)
    file_root: str = "/"
    vault: VaultSettings | None = None
    aws: AwsSecretsSettings | None = None
