"""The configuration examples of docs/security.md and docs/jobs.md about messages and jobs validate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from microlib.config.model import SecuritySettings
from microlib.core.context import Principal
from microlib.security.principals import PrincipalSigner

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCKS = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def propagation_blocks() -> list[tuple[str, str]]:
    """Every YAML block that configures ``security.propagation``, with its file's name."""
    return [
        (doc, body)
        for doc in ("security.md", "jobs.md")
        for body in BLOCKS.findall((DOCS / doc).read_text(encoding="utf-8"))
        if "signing_key_file" in body
    ]


@pytest.mark.parametrize(("doc", "body"), propagation_blocks())
def test_propagation_examples_validate(doc: str, body: str, tmp_path: Path) -> None:
    """Each example is a valid ``security`` section once its files exist."""
    key = tmp_path / "principal.pem"
    private = ed25519.Ed25519PrivateKey.generate()
    key.write_bytes(private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    other = PrincipalSigner("microlib:orders", key.read_bytes(), key_id="k", identity=Principal("orders"))
    jwks = tmp_path / "orders.jwks.json"
    jwks.write_text(json.dumps({"keys": [other.public_jwk()]}))
    body = re.sub(r"signing_key_file: \S+", f"signing_key_file: {key}", body)
    body = re.sub(r"jwks_file: \S+", f"jwks_file: {jwks}", body)
    settings = SecuritySettings.model_validate(yaml.safe_load(body)["security"])
    assert settings.propagation.signing_key_file == key, doc
    assert settings.deny_by_default


def test_there_are_examples() -> None:
    """Both documents show the configuration."""
    assert sorted({doc for doc, _ in propagation_blocks()}) == ["jobs.md", "security.md"]
