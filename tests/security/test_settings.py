"""The security and secrets settings sections reject unsafe or ambiguous configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from microlib.config.model import IssuerSettings, OpaSettings, SecretsSettings, SecuritySettings


def test_defaults_make_probes_public() -> None:
    """By default health, metrics and docs need no token; undeclared methods are allowed to any caller."""
    settings = SecuritySettings()
    assert "/health/*" in settings.public_paths
    assert "grpc.health.v1.Health/*" in settings.public_methods
    assert settings.deny_by_default is False


@pytest.mark.parametrize(
    "sources",
    [{}, {"jwks_url": "http://a/jwks", "discovery_url": "http://a/.well-known/openid-configuration"}],
    ids=["none", "two"],
)
def test_issuer_needs_exactly_one_key_source(sources: dict[str, str]) -> None:
    """An issuer with no key source, or two, is a config error naming the issuer."""
    with pytest.raises(ValidationError, match="issuer 'https://i': set exactly one of"):
        IssuerSettings.model_validate({"issuer": "https://i", "audiences": ["a"], **sources})


def test_alg_none_is_refused_at_load() -> None:
    """'none' on the allow-list is rejected when the config loads."""
    with pytest.raises(ValidationError, match="'none' is never accepted"):
        IssuerSettings(
            issuer="https://i", jwks_url="http://a/jwks", audiences=["a"], algorithms=["RS256", "none"]
        )


def test_audience_is_required() -> None:
    """An issuer without audiences would accept tokens for any service: refused."""
    with pytest.raises(ValidationError, match="audiences"):
        IssuerSettings(issuer="https://i", jwks_url="http://a/jwks", audiences=[])


def test_opa_needs_one_engine() -> None:
    """OPA needs a URL or policy files, not both, not neither."""
    with pytest.raises(ValidationError, match="exactly one of url, policy_files"):
        OpaSettings()
    with pytest.raises(ValidationError, match="exactly one of url, policy_files"):
        OpaSettings(url="http://opa", policy_files=["a.rego"])


def test_unknown_keys_are_errors() -> None:
    """A misspelt key is an error, not silently ignored."""
    with pytest.raises(ValidationError, match="deny_by_defualt"):
        SecuritySettings.model_validate({"deny_by_defualt": True})
    with pytest.raises(ValidationError):
        SecretsSettings.model_validate({"vault": {"adress": "x"}})
