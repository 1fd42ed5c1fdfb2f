"""What importing the security pieces the transports need costs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules_after(statement: str) -> set[str]:
    probe = f"import sys\n{statement}\nprint(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return set(out.split())


def test_requirements_module_is_light() -> None:
    """The transports' import of microlib.security.requirements loads neither PyJWT nor cryptography."""
    loaded = _modules_after("import microlib.security.requirements")
    assert not loaded & {"jwt", "cryptography", "microlib.security.authn", "microlib.security.jwks"}


def test_transports_do_not_import_security() -> None:
    """The gRPC handlers and the OpenAPI app import no microlib.security until a contract needs it."""
    loaded = _modules_after("import microlib.grpc.handlers, microlib.http.openapi")
    assert not {m for m in loaded if m.startswith("microlib.security")}


def test_package_names_resolve_lazily() -> None:
    """Every name in microlib.security.__all__ resolves on first use."""
    loaded = _modules_after(
        "import microlib.security as s\nassert all(getattr(s, n) is not None for n in s.__all__)"
    )
    assert "microlib.security.authn" in loaded


def test_startup_check_is_light() -> None:
    """The contract-security check every Service runs on start loads neither PyJWT nor cryptography."""
    loaded = _modules_after("import microlib.security.enforcement")
    assert not loaded & {"jwt", "cryptography", "microlib.security.authn", "microlib.security.jwks"}


def test_disabled_security_builds_nothing() -> None:
    """With security.enabled false the service starts, ready and healthy, without PyJWT or cryptography."""
    loaded = _modules_after(
        "import asyncio\n"
        "from microlib import Service\n"
        "from microlib.security import install\n"
        "from microlib.testing import TestService\n"
        "service = Service('quiet')\n"
        "install(service)\n"
        "async def main():\n"
        "    async with TestService(service, overrides=['security.enabled=false']) as t:\n"
        "        health = await t.http.get('/health')\n"
        "        assert health.status_code == 200, health.text\n"
        "        assert health.json()['components']['security']['status'] == 'UP', health.text\n"
        "asyncio.run(main())"
    )
    assert not loaded & {"jwt", "cryptography", "microlib.security.authn", "microlib.security.jwks"}


def test_security_reads_a_call_without_the_http_package() -> None:
    """An ``apiKey`` cookie and a proto request's OPA input are read, and no microlib.http module is
    loaded: security sits below the transports (ADR 0010's contract layer holds the proto JSON)."""
    loaded = _modules_after(
        "from microlib.contract import METHOD_ATTRIBUTE\n"
        "from microlib.core.context import CallContext, Principal\n"
        "from microlib.security.credentials import api_key\n"
        "from microlib.security.opa import policy_input\n"
        "from microlib.security.schemes import SecurityScheme\n"
        "from examples.bookshop.gen.bookshop.v1 import BookshopService, GetBookRequest\n"
        "method = BookshopService.__microlib_service__.methods['GetBook']\n"
        "ctx = CallContext('grpc', 'bookshop.v1.BookshopService', 'GetBook',\n"
        "    metadata={'cookie': 'theme=dark; session=s3cret'}, request=GetBookRequest(id='b-1'),\n"
        "    attributes={METHOD_ATTRIBUTE: method})\n"
        "cookie = SecurityScheme('session', 'apiKey', location='cookie', parameter='session')\n"
        "assert api_key(ctx, cookie) == 's3cret'\n"
        "assert policy_input(ctx, Principal('ada'), None, include_request=True)['request'] == {'id': 'b-1'}\n"
    )
    assert "microlib.security.opa" in loaded
    assert not {m for m in loaded if m.startswith("microlib.http")}
