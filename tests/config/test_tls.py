"""The ``http.tls`` and ``grpc.tls`` sections: one model, its files checked while loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from microlib.config import ConfigError, Problem, Settings, load_config
from microlib.config.model import GrpcTlsSettings, TlsSettings
from tests.pki import Pki, make_pki

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A trusted CA with a server and a client certificate, and a stranger from another CA."""
    return make_pki(tmp_path_factory.mktemp("pki"))


def _load(tmp_path: Path, section: str, **tls: object) -> Settings:
    """Load a file setting ``<section>.tls`` to ``tls``, one key per line from line 3."""
    lines = [f"{section}:", "  tls:", *(f"    {key}: {value}" for key, value in tls.items())]
    config = tmp_path / "service.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(Settings, files=[config], environ={}).settings


def _problem(tmp_path: Path, section: str, **tls: object) -> Problem:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, section, **tls)
    (problem,) = caught.value.problems
    return problem


def test_both_servers_share_the_tls_model() -> None:
    """http.tls and grpc.tls have the same keys; gRPC's only narrows what it accepts."""
    assert issubclass(GrpcTlsSettings, TlsSettings)
    assert GrpcTlsSettings.model_fields.keys() == TlsSettings.model_fields.keys()


@pytest.mark.parametrize("section", ["http", "grpc"])
def test_valid_files_load(tmp_path: Path, pki: Pki, section: str) -> None:
    """A certificate, its key and a client CA load into the section."""
    settings = _load(
        tmp_path,
        section,
        cert_file=pki.crt("server"),
        key_file=pki.key("server"),
        client_ca_file=pki.crt("ca"),
    )
    tls = getattr(settings, section).tls
    assert (tls.cert_file, tls.key_file, tls.client_ca_file, tls.require_client_cert) == (
        pki.crt("server"),
        pki.key("server"),
        pki.crt("ca"),
        True,
    )


def test_null_client_ca_is_server_only_tls(tmp_path: Path, pki: Pki) -> None:
    """client_ca_file: null (e.g. to switch it off in an overriding file) means no mutual TLS."""
    settings = _load(
        tmp_path, "grpc", cert_file=pki.crt("server"), key_file=pki.key("server"), client_ca_file="null"
    )
    assert settings.grpc.tls is not None
    assert settings.grpc.tls.client_ca_file is None


def test_http_accepts_an_optional_client_certificate(tmp_path: Path, pki: Pki) -> None:
    """On HTTP, require_client_cert: false with a client CA is valid (the certificate is still verified)."""
    settings = _load(
        tmp_path,
        "http",
        cert_file=pki.crt("server"),
        key_file=pki.key("server"),
        client_ca_file=pki.crt("ca"),
        require_client_cert="false",
    )
    assert settings.http.tls is not None
    assert settings.http.tls.require_client_cert is False


@pytest.mark.parametrize("section", ["http", "grpc"])
def test_missing_file_names_the_key_the_source_and_the_file(tmp_path: Path, pki: Pki, section: str) -> None:
    """A TLS file that does not exist is a problem of its key, where it was set, naming the file."""
    missing = tmp_path / "nope.crt"
    problem = _problem(tmp_path, section, cert_file=missing, key_file=pki.key("server"))
    assert (problem.path, problem.source, problem.rule) == (
        f"{section}.tls.cert_file",
        f"{tmp_path / 'service.yaml'}:3",
        "tls_file",
    )
    assert problem.message == f"cannot read {str(missing)!r}: No such file or directory"


@pytest.mark.parametrize("section", ["http", "grpc"])
def test_key_of_another_certificate_is_refused(tmp_path: Path, pki: Pki, section: str) -> None:
    """A key that does not belong to cert_file is a problem of key_file naming both files."""
    problem = _problem(tmp_path, section, cert_file=pki.crt("server"), key_file=pki.key("client"))
    assert (problem.path, problem.rule) == (f"{section}.tls.key_file", "tls_file")
    assert problem.message == (
        f"{str(pki.key('client'))!r} is not the private key of the certificate in "
        f"cert_file {str(pki.crt('server'))!r}"
    )


def test_files_that_hold_the_wrong_thing(tmp_path: Path, pki: Pki) -> None:
    """A certificate file without a certificate, a key file without a key, an encrypted key: each named."""
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a pem\n", encoding="utf-8")
    key = serialization.load_pem_private_key(pki.key("server").read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass"),
        )
    )
    server = {"cert_file": pki.crt("server"), "key_file": pki.key("server")}
    cases = [
        (
            {**server, "client_ca_file": garbage},
            "client_ca_file",
            f"{str(garbage)!r} holds no PEM certificate",
        ),
        (
            {**server, "key_file": pki.crt("server")},
            "key_file",
            f"{str(pki.crt('server'))!r} holds no PEM private key",
        ),
        (
            {**server, "key_file": encrypted},
            "key_file",
            f"{str(encrypted)!r} is an encrypted private key; give an unencrypted one",
        ),
    ]
    for tls, key_name, message in cases:
        problem = _problem(tmp_path, "http", **tls)
        assert (problem.path, problem.message) == (f"http.tls.{key_name}", message)


def test_bad_certificate_file_skips_the_key_match(tmp_path: Path, pki: Pki) -> None:
    """With an unusable cert_file, only that key is reported: the key is not matched against nothing."""
    problem = _problem(tmp_path, "http", cert_file=tmp_path / "nope.crt", key_file=pki.key("server"))
    assert problem.path == "http.tls.cert_file"


def test_microlib_run_reports_a_bad_tls_file_without_a_traceback(tmp_path: Path, pki: Pki) -> None:
    """`microlib run` with a missing TLS file exits 2 with the configuration problem, not a traceback."""
    missing = tmp_path / "gone.key"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "microlib.cli",
            "run",
            "tests.cli.apps.slow:service",
            "--set",
            f"http.tls.cert_file={pki.crt('server')}",
            "--set",
            f"http.tls.key_file={missing}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
    )
    assert result.returncode == 2, result.stderr
    assert (
        f"http.tls.key_file = ********** (--set http.tls.key_file=...): cannot read {str(missing)!r}: "
        "No such file or directory [tls_file]"
    ) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
