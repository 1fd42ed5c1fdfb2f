"""HTTPS and mutual TLS on the HTTP server, over real sockets with generated certificates."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from starlette.requests import Request
from starlette.types import ASGIApp

from microlib import Service
from microlib.config.model import HttpSettings, TlsSettings
from microlib.core.chain import Chain
from microlib.core.context import current_context
from microlib.core.tls import CLIENT_CERTIFICATE_ATTRIBUTE, CLIENT_SUBJECT_ATTRIBUTE
from microlib.http import HttpApp, HttpServer
from microlib.http.context import context_from_scope
from microlib.http.openapi import OpenAPIApp
from tests.http.apps.store import Pets, Store
from tests.http.conftest import Recorder
from tests.http.gen.store31 import operations as store_ops
from tests.pki import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A trusted CA with a server and a client certificate, and a stranger from another CA."""
    return make_pki(tmp_path_factory.mktemp("pki"))


def _whoami_app() -> ASGIApp:
    """A route answering with the client certificate's subject the call saw (null without one)."""
    http = HttpApp(Chain())

    @http.route("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        ctx = current_context()
        assert ctx is not None
        return {
            "subject": ctx.attributes.get(CLIENT_SUBJECT_ATTRIBUTE),
            "certificate": ctx.attributes.get(CLIENT_CERTIFICATE_ATTRIBUTE),
        }

    return http.app


def _tls(pki: Pki, **mutual: Any) -> TlsSettings:
    return TlsSettings(cert_file=pki.crt("server"), key_file=pki.key("server"), **mutual)


@asynccontextmanager
async def _serving(app: ASGIApp, tls: TlsSettings) -> AsyncIterator[int]:
    """``app`` on an HttpServer at 127.0.0.1 with ``tls``; yields the port."""
    server = HttpServer(app, HttpSettings(host="127.0.0.1", port=0, tls=tls))
    await server.start()
    try:
        yield server.port
    finally:
        await server.stop()


def _client_tls(pki: Pki, client: str | None = None) -> ssl.SSLContext:
    """Trusts the test CA; presents ``client``'s certificate when given."""
    context = ssl.create_default_context(cafile=pki.crt("ca"))
    if client is not None:
        context.load_cert_chain(pki.crt(client), pki.key(client))
    return context


async def _whoami(port: int, verify: ssl.SSLContext) -> dict[str, Any]:
    async with httpx.AsyncClient(verify=verify, timeout=10) as client:
        response = await client.get(f"https://127.0.0.1:{port}/whoami")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


async def _refused(port: int, verify: ssl.SSLContext) -> None:
    async with httpx.AsyncClient(verify=verify, timeout=10) as client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"https://127.0.0.1:{port}/whoami")


async def test_https_is_served_and_plain_http_is_refused(pki: Pki) -> None:
    """With http.tls set, a client trusting the CA gets an answer; plain HTTP to the port gets none."""
    async with _serving(_whoami_app(), _tls(pki)) as port:
        assert await _whoami(port, _client_tls(pki)) == {"subject": None, "certificate": None}
        async with httpx.AsyncClient(timeout=10) as plain:
            with pytest.raises(httpx.TransportError):
                await plain.get(f"http://127.0.0.1:{port}/whoami")


async def test_required_client_certificate(pki: Pki) -> None:
    """require_client_cert: only a certificate from client_ca_file is served, and the call sees it.

    No certificate, and a certificate from another CA, expired, or not for
    client authentication, are refused in the handshake.
    """
    async with _serving(_whoami_app(), _tls(pki, client_ca_file=pki.crt("ca"))) as port:
        seen = await _whoami(port, _client_tls(pki, "client"))
        assert seen["subject"] == "CN=client-a"
        presented = x509.load_pem_x509_certificate(seen["certificate"].encode())
        assert presented == x509.load_pem_x509_certificate(pki.crt("client").read_bytes())
        for refused in (None, "stranger", "expired", "server"):
            await _refused(port, _client_tls(pki, refused))


async def test_optional_client_certificate_is_still_verified(pki: Pki) -> None:
    """require_client_cert: false lets a client without a certificate in, but never another CA's.

    A presented certificate is still verified (chain, validity) and, when
    trusted, reaches the call.
    """
    tls = _tls(pki, client_ca_file=pki.crt("ca"), require_client_cert=False)
    async with _serving(_whoami_app(), tls) as port:
        assert await _whoami(port, _client_tls(pki)) == {"subject": None, "certificate": None}
        assert (await _whoami(port, _client_tls(pki, "client")))["subject"] == "CN=client-a"
        await _refused(port, _client_tls(pki, "stranger"))
        await _refused(port, _client_tls(pki, "expired"))


async def test_openapi_operations_see_the_client_certificate(pki: Pki) -> None:
    """An OpenAPI-first operation's context carries the verified client certificate too."""
    recorder = Recorder()
    app = OpenAPIApp(
        store_ops.OPERATIONS,
        {"pets": Pets(), "store": Store()},
        chain=[recorder],
        title=store_ops.TITLE,
        spec_path=store_ops.SPEC_PATH,
    )
    async with (
        _serving(app, _tls(pki, client_ca_file=pki.crt("ca"))) as port,
        httpx.AsyncClient(verify=_client_tls(pki, "client"), timeout=10) as client,
    ):
        assert (await client.get(f"https://127.0.0.1:{port}/pets")).status_code == 200
    assert recorder.seen[-1].attributes[CLIENT_SUBJECT_ATTRIBUTE] == "CN=client-a"


def test_only_a_verified_certificate_reaches_the_context(pki: Pki) -> None:
    """A certificate another ASGI server passes on with a verification error is not taken as the caller's."""
    pem = pki.crt("client").read_text()
    scope: dict[str, Any] = {"headers": [], "method": "GET"}
    for extensions, expected in [
        (None, None),
        ({}, None),
        ({"tls": {"client_cert_chain": [], "client_cert_error": None}}, None),
        ({"tls": {"client_cert_chain": [pem], "client_cert_error": "unable to get issuer"}}, None),
        ({"tls": {"client_cert_chain": [pem], "client_cert_error": None}}, "CN=client-a"),
    ]:
        ctx = context_from_scope(
            {**scope, "extensions": extensions}, service="s", method="m", route="/m", path_params={}
        )
        assert ctx.attributes.get(CLIENT_SUBJECT_ATTRIBUTE) == expected, extensions


async def test_tls_file_gone_after_validation_names_the_files(pki: Pki, tmp_path: Path) -> None:
    """A TLS file removed after the settings were checked fails start, naming http.tls and the files."""
    key = tmp_path / "server.key"
    key.write_bytes(pki.key("server").read_bytes())
    tls = TlsSettings(cert_file=pki.crt("server"), key_file=key)
    key.unlink()
    server = HttpServer(_whoami_app(), HttpSettings(host="127.0.0.1", port=0, tls=tls))
    files = r"cert_file '.*server.crt', key_file '.*server.key'"
    with pytest.raises(OSError, match=rf"http.tls: cannot load {files}: No such file or directory"):
        await server.start()
    assert server.port == 0


async def test_service_serves_https_from_its_configuration(pki: Pki) -> None:
    """http.tls in a service's configuration makes its HTTP port speak HTTPS (and mutual TLS)."""
    service = Service("shop")

    @service.http.route("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        ctx = current_context()
        assert ctx is not None
        return {"subject": ctx.attributes.get(CLIENT_SUBJECT_ATTRIBUTE)}

    service.configure(
        overrides=[
            "http.host=127.0.0.1",
            "http.port=0",
            "grpc.enabled=false",
            f"http.tls.cert_file={pki.crt('server')}",
            f"http.tls.key_file={pki.key('server')}",
            f"http.tls.client_ca_file={pki.crt('ca')}",
        ],
        environ={},
    )
    await service.start()
    try:
        port = service.component("http").port  # type: ignore[attr-defined]
        async with httpx.AsyncClient(verify=_client_tls(pki, "client"), timeout=10) as client:
            response = await client.get(f"https://127.0.0.1:{port}/whoami")
        assert response.json() == {"subject": "CN=client-a"}
        await _refused(port, _client_tls(pki))
    finally:
        await service.stop()
