"""The security and secrets settings sections reject unsafe or ambiguous configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from microlib.config.model import IssuerSettings, OpaSettings, SecretsSettings, SecuritySettings
from microlib.core.errors import Unavailable
from microlib.security.setup import Security


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


class TestJwksFile:
    """``jwks_file``: a static key set read from a file, checked when the config loads."""

    JWK = {"kty": "RSA", "kid": "k1", "n": "sXch", "e": "AQAB"}

    def issuer(self, path: object) -> IssuerSettings:
        return IssuerSettings.model_validate({"issuer": "dev", "audiences": ["a"], "jwks_file": path})

    def test_a_key_set_is_read_and_trusted(self, tmp_path: Path) -> None:
        """A file holding {"keys": [...]} is a key source; the issuer verifies with those keys."""
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps({"keys": [self.JWK]}))
        settings = SecuritySettings.model_validate({"issuers": [self.issuer(path).model_dump()]})
        security = Security.from_settings(settings)
        assert security.components == ()  # static keys: nothing to fetch or refresh

    @pytest.mark.parametrize(
        ("content", "says"),
        [
            (None, "cannot read"),
            ("keys: [1]", "is not JSON"),
            ('{"keys": []}', "is not a JSON Web Key Set"),
            ('[{"kty": "RSA"}]', "is not a JSON Web Key Set"),
            ('{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "d": "secret"}]}', "holds a private key"),
        ],
        ids=["missing", "not-json", "empty", "not-an-object", "private"],
    )
    def test_a_bad_file_is_a_config_error_naming_it(
        self, tmp_path: Path, content: str | None, says: str
    ) -> None:
        """A missing file, one that is not JSON or not a key set, or one holding a private key, is
        refused at load with the file's name and what is wrong (never the key material)."""
        path = tmp_path / "jwks.json"
        if content is not None:
            path.write_text(content)
        with pytest.raises(ValidationError, match=says) as failed:
            self.issuer(path)
        assert str(path) in str(failed.value)
        assert "secret" not in str(failed.value)

    def test_with_another_key_source_is_ambiguous(self, tmp_path: Path) -> None:
        """jwks_file counts as a key source: with keys too, exactly-one is broken."""
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps({"keys": [self.JWK]}))
        with pytest.raises(ValidationError, match=r"got \['keys', 'jwks_file'\]"):
            IssuerSettings.model_validate(
                {"issuer": "dev", "audiences": ["a"], "jwks_file": path, "keys": [self.JWK]}
            )

    def test_a_file_gone_by_start_fails_the_start_naming_the_issuer(self, tmp_path: Path) -> None:
        """Removed between load and start: building the issuer says so, with no key material."""
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps({"keys": [self.JWK]}))
        settings = SecuritySettings.model_validate({"issuers": [self.issuer(path).model_dump()]})
        path.unlink()
        with pytest.raises(Unavailable, match="issuer 'dev': cannot read"):
            Security.from_settings(settings)
