"""TLS and mutual TLS with certificates generated for the test."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from microlib.grpc import GrpcServer, GrpcSettings, GrpcTlsSettings
from tests.grpc.support import Generated

Pem = tuple[bytes, bytes]


def _issue(name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None, **kind: Any) -> Any:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if kind.get("server"):
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if kind.get("client"):
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    return cert, key


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, on disk."""
    out = tmp_path_factory.mktemp("pki")
    ca = _issue("test-ca", None)
    server_cert = _issue("localhost", ca, server=True)
    client_cert = _issue("client-a", ca, client=True)
    stranger = _issue("stranger", _issue("other-ca", None), client=True)
    files: dict[str, Any] = {}
    for name, (cert, key) in {
        "ca": ca,
        "server": server_cert,
        "client": client_cert,
        "stranger": stranger,
    }.items():
        pem_cert, pem_key = _pem(cert, key)
        (out / f"{name}.crt").write_bytes(pem_cert)
        (out / f"{name}.key").write_bytes(pem_key)
        files[name] = (pem_cert, pem_key)
    files["dir"] = out
    return files


async def _call(echo: Generated, port: int, credentials: grpc.ChannelCredentials) -> str:
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        reply = await echo.pb2_grpc.EchoServiceStub(channel).Echo(
            echo.pb2.EchoRequest(message="tls"), timeout=10
        )
        return str(reply.message)


async def test_tls(
    echo: Generated, make_server: Callable[..., GrpcServer], settings: GrpcSettings, pki: Any
) -> None:
    """With grpc.tls set, a client trusting the CA connects; a plaintext client cannot."""
    d: Path = pki["dir"]
    tls = GrpcTlsSettings(cert_file=d / "server.crt", key_file=d / "server.key")
    server = make_server(settings.model_copy(update={"tls": tls}))
    await server.start()
    try:
        assert await _call(echo, server.port, grpc.ssl_channel_credentials(pki["ca"][0])) == "tls"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as plain:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await echo.pb2_grpc.EchoServiceStub(plain).Echo(echo.pb2.EchoRequest(message="x"), timeout=10)
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop()


async def test_mutual_tls(
    echo: Generated, make_server: Callable[..., GrpcServer], settings: GrpcSettings, pki: Any
) -> None:
    """With a client CA, only clients presenting a certificate from that CA get through."""
    d: Path = pki["dir"]
    tls = GrpcTlsSettings(cert_file=d / "server.crt", key_file=d / "server.key", client_ca_file=d / "ca.crt")
    server = make_server(settings.model_copy(update={"tls": tls}))
    await server.start()
    try:
        ca = pki["ca"][0]
        good = grpc.ssl_channel_credentials(
            ca, private_key=pki["client"][1], certificate_chain=pki["client"][0]
        )
        assert await _call(echo, server.port, good) == "tls"
        for credentials in (
            grpc.ssl_channel_credentials(ca),
            grpc.ssl_channel_credentials(
                ca, private_key=pki["stranger"][1], certificate_chain=pki["stranger"][0]
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await _call(echo, server.port, credentials)
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop()


async def test_missing_certificate_names_the_setting(
    make_server: Callable[..., GrpcServer], settings: GrpcSettings, tmp_path: Path
) -> None:
    """A TLS file that cannot be read fails start, naming the config key and path."""
    tls = GrpcTlsSettings(cert_file=tmp_path / "nope.crt", key_file=tmp_path / "nope.key")
    server = make_server(settings.model_copy(update={"tls": tls}))
    with pytest.raises(OSError, match=r"grpc.tls.cert_file: cannot read '.*nope.crt'"):
        await server.start()
