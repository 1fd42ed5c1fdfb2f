"""TLS and mutual TLS with certificates generated for the test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from cryptography import x509

from microlib.config import ConfigError, Settings, load_config
from microlib.core.tls import CLIENT_CERTIFICATE_ATTRIBUTE, CLIENT_SUBJECT_ATTRIBUTE
from microlib.grpc import GrpcServer, GrpcSettings, GrpcTlsSettings
from tests.grpc.support import Generated, Record
from tests.pki import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A trusted CA with a server and a client certificate, and a stranger from another CA."""
    return make_pki(tmp_path_factory.mktemp("pki"))


def _credentials(pki: Pki, client: str | None = None) -> grpc.ChannelCredentials:
    """Channel credentials trusting the CA, presenting ``client``'s certificate if given."""
    ca = pki.crt("ca").read_bytes()
    if client is None:
        return grpc.ssl_channel_credentials(ca)
    cert, key = pki.pem(client)
    return grpc.ssl_channel_credentials(ca, private_key=key, certificate_chain=cert)


async def _call(echo: Generated, port: int, credentials: grpc.ChannelCredentials) -> str:
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        reply = await echo.pb2_grpc.EchoServiceStub(channel).Echo(
            echo.pb2.EchoRequest(message="tls"), timeout=10
        )
        return str(reply.message)


async def test_tls(
    echo: Generated, make_server: Callable[..., GrpcServer], settings: GrpcSettings, pki: Pki
) -> None:
    """With grpc.tls set, a client trusting the CA connects; a plaintext client cannot."""
    tls = GrpcTlsSettings(cert_file=pki.crt("server"), key_file=pki.key("server"))
    server = make_server(settings.model_copy(update={"tls": tls}))
    await server.start()
    try:
        assert await _call(echo, server.port, _credentials(pki)) == "tls"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as plain:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await echo.pb2_grpc.EchoServiceStub(plain).Echo(echo.pb2.EchoRequest(message="x"), timeout=10)
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop()


async def test_mutual_tls(
    echo: Generated,
    make_server: Callable[..., GrpcServer],
    settings: GrpcSettings,
    pki: Pki,
    record: Record,
) -> None:
    """With a client CA, only clients of that CA get through, and the handler sees who called.

    A client without a certificate, one whose certificate comes from another CA,
    has expired, or is not for client authentication is refused at the
    handshake; the trusted client's certificate and subject are in ``ctx.attributes``.
    """
    tls = GrpcTlsSettings(
        cert_file=pki.crt("server"), key_file=pki.key("server"), client_ca_file=pki.crt("ca")
    )
    server = make_server(settings.model_copy(update={"tls": tls}))
    await server.start()
    try:
        assert await _call(echo, server.port, _credentials(pki, "client")) == "tls"
        attributes = record.contexts[-1].attributes
        assert attributes[CLIENT_SUBJECT_ATTRIBUTE] == "CN=client-a"
        presented = x509.load_pem_x509_certificate(attributes[CLIENT_CERTIFICATE_ATTRIBUTE].encode())
        assert presented == x509.load_pem_x509_certificate(pki.crt("client").read_bytes())
        for refused in (None, "stranger", "expired", "server"):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await _call(echo, server.port, _credentials(pki, refused))
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
        assert len(record.contexts) == 1
    finally:
        await server.stop()


async def test_plain_tls_puts_no_client_certificate_in_the_context(
    echo: Generated,
    make_server: Callable[..., GrpcServer],
    settings: GrpcSettings,
    pki: Pki,
    record: Record,
) -> None:
    """Without a client CA no certificate is asked for, and the context claims no client identity."""
    tls = GrpcTlsSettings(cert_file=pki.crt("server"), key_file=pki.key("server"))
    server = make_server(settings.model_copy(update={"tls": tls}))
    await server.start()
    try:
        assert await _call(echo, server.port, _credentials(pki, "client")) == "tls"
        assert CLIENT_SUBJECT_ATTRIBUTE not in record.contexts[-1].attributes
    finally:
        await server.stop()


def test_optional_client_certificate_is_refused(tmp_path: Path, pki: Pki) -> None:
    """grpc.tls.require_client_cert: false with a client CA is a configuration error naming the key.

    grpcio cannot ask for an optional client certificate: the server would never
    request one, so the CA would verify nobody, and a client presenting another
    CA's certificate would be served. The service must not start that way.
    """
    config = tmp_path / "service.yaml"
    config.write_text(
        "grpc:\n"
        "  tls:\n"
        f"    cert_file: {pki.crt('server')}\n"
        f"    key_file: {pki.key('server')}\n"
        f"    client_ca_file: {pki.crt('ca')}\n"
        "    require_client_cert: false\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(Settings, files=[config], environ={})
    (problem,) = caught.value.problems
    assert (problem.path, problem.source, problem.rule) == (
        "grpc.tls.require_client_cert",
        f"{config}:6",
        "unsupported",
    )
    assert "set it to true" in problem.message


async def test_tls_file_gone_after_validation_names_the_setting(
    make_server: Callable[..., GrpcServer], settings: GrpcSettings, tmp_path: Path, pki: Pki
) -> None:
    """A TLS file removed after the settings were checked fails start, naming the key and path."""
    cert = tmp_path / "server.crt"
    cert.write_bytes(pki.crt("server").read_bytes())
    tls = GrpcTlsSettings(cert_file=cert, key_file=pki.key("server"))
    cert.unlink()
    server = make_server(settings.model_copy(update={"tls": tls}))
    with pytest.raises(OSError, match=r"grpc.tls.cert_file: cannot read '.*server.crt'"):
        await server.start()
