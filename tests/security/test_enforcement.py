"""A service refuses to start when a security scheme its OpenAPI operations require has nothing to enforce it.

The document is ``specs/schemes.yaml`` (every scheme OpenAPI defines); the
check runs in ``Service.start`` before any component starts, and names each
scheme with the operations that require it.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount

from microlib.core.chain import compose
from microlib.core.context import CallContext
from microlib.core.errors import InvalidArgument, Unavailable
from microlib.core.lifecycle import StartupError
from microlib.http.openapi import OpenAPIApp, Operation
from microlib.security import CredentialVerifier, Security, SecurityNotEnforced, install
from microlib.security.requirements import SECURITY_ATTRIBUTE, from_openapi_security
from microlib.service import Service
from microlib.testing import TestService
from microlib_codegen.openapi import generate

from .conftest import SigningKey, rsa_key
from .helpers import settings_for
from .vault import SPEC, VERIFIERS, Keys, Users, Vault

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated ``operations`` module of the schemes document (its own package name)."""
    out = tmp_path_factory.mktemp("openapi")
    generate(SPEC, out_dir=out / "schemescheck", gen_package="schemescheck")
    sys.path.insert(0, str(out))
    return importlib.import_module("schemescheck.operations")


@pytest.fixture(scope="module")
def key() -> SigningKey:
    """A static signing key for the issuer setting (no network: the check runs before any start)."""
    return rsa_key("enforcement")


def issuer(key: SigningKey) -> str:
    """``security.issuers`` with one static-key issuer, as an override."""
    issuers = [{"issuer": "https://issuer.test", "keys": [key.jwk()], "audiences": ["api://vault"]}]
    return f"security.issuers={json.dumps(issuers)}"


def service(ops: ModuleType, verifiers: dict[str, CredentialVerifier]) -> Service:
    """The vault API under /api, security installed with ``verifiers``."""
    built = Service("vault")
    install(built, verifiers=verifiers)
    built.http.mount("/api", OpenAPIApp(ops.OPERATIONS, Vault(), chain=built.chain, docs=False))
    return built


def microlib_run(folder: Path, target: str) -> subprocess.CompletedProcess[str]:
    """`microlib run TARGET` in a process of its own, importing from ``folder``, on any free port."""
    pythonpath = os.pathsep.join([str(ROOT), str(folder), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "microlib.cli", "run", target, "--set", "http.port=0"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": pythonpath},
    )


async def refusal(built: Service, *overrides: str) -> str:
    """The message of the StartupError the service's start raises."""
    with pytest.raises(StartupError) as caught:
        async with TestService(built, overrides=list(overrides)):
            pass
    assert caught.value.component == "security"
    assert isinstance(caught.value.cause, SecurityNotEnforced)
    return str(caught.value)


async def test_schemes_without_a_verifier(ops: ModuleType, key: SigningKey) -> None:
    """Basic, each apiKey, digest and mutualTLS without a verifier: each named, with its operations."""
    message = await refusal(service(ops, {}), issuer(key))
    assert message.startswith("component 'security' failed to start: SecurityNotEnforced: ")
    assert (
        "security scheme 'basicAuth' (http basic) has no verifier: register a BasicVerifier "
        "(async def verify_basic(username, password)) with install(service, verifiers={'basicAuth': ...}); "
        "required by DELETE /api/basic/{id} (deleteBasic), GET /api/basic-admin (basicAdmin), "
        "GET /api/both (both), GET /api/either (either)"
    ) in message
    assert (
        "security scheme 'headerKey' (apiKey in header 'X-API-Key') has no verifier: register an "
        "ApiKeyVerifier (async def verify_api_key(key))"
    ) in message
    assert "'queryKey' (apiKey in query 'api_key') has no verifier" in message
    assert "'cookieKey' (apiKey in cookie 'session') has no verifier" in message
    assert (
        "security scheme 'digestAuth' (http digest) has no built-in enforcement: register a RequestVerifier "
        "(async def verify_request(ctx)) with install(service, verifiers={'digestAuth': ...}); "
        "required by GET /api/digest (digest)"
    ) in message
    assert "'mtls' (mutualTLS) has no built-in enforcement" in message
    assert "bearerAuth" not in message  # security.issuers is configured


async def test_jwt_schemes_without_an_issuer(ops: ModuleType) -> None:
    """Bearer, oauth2 and openIdConnect schemes with security.issuers empty: each named."""
    message = await refusal(service(ops, VERIFIERS))
    assert (
        "security scheme 'bearerAuth' (http bearer) needs a JWT issuer, but security.issuers is empty; "
        "required by GET /api/bearer (bearer), GET /api/either (either)"
    ) in message
    assert "'oauth' (oauth2) needs a JWT issuer" in message
    assert "'oidc' (openIdConnect) needs a JWT issuer" in message
    assert "basicAuth" not in message


async def test_verifier_of_the_wrong_kind_or_for_no_scheme(ops: ModuleType, key: SigningKey) -> None:
    """A verifier that cannot check its scheme, one for a bearer scheme, and one under a name no
    served operation uses (a typo) all refuse the start."""
    verifiers = {**VERIFIERS, "headerKey": Users(), "bearerAuth": Keys(), "basicAth": Users()}
    message = await refusal(service(ops, verifiers), issuer(key))
    assert (
        "security scheme 'headerKey' (apiKey in header 'X-API-Key') has a verifier of type Users, "
        "which is not an ApiKeyVerifier (async def verify_api_key(key))"
    ) in message
    assert (
        "security scheme 'bearerAuth' (http bearer) is a bearer token checked against security.issuers; "
        "it takes no verifier"
    ) in message
    assert "verifiers are registered for 'basicAth', which no served operation requires" in message


async def test_verifiers_without_any_served_scheme() -> None:
    """A service that serves no OpenAPI security refuses verifiers it would never use."""
    built = Service("plain")
    install(built, verifiers={"basicAuth": Users()})
    message = await refusal(built)
    assert "verifiers are registered for 'basicAuth', which no served operation requires" in message
    assert "(schemes required: none)" in message


def test_verifiers_without_any_served_scheme_refuse_the_start_in_a_process_of_their_own(
    tmp_path: Path,
) -> None:
    """Without an OpenAPI app the start skips the check's imports, but not the check itself when
    security is installed: a fresh process (where nothing else loaded microlib.http.openapi) with
    an unused verifier still refuses to start."""
    (tmp_path / "plain_app.py").write_text(
        textwrap.dedent(
            """
            import sys

            from microlib.security import install
            from microlib.service import Service

            service = Service("plain")
            install(service, verifiers={"basicAuth": object()})
            assert "microlib.http.openapi" not in sys.modules
            """
        )
    )
    result = microlib_run(tmp_path, "plain_app:service")
    assert result.returncode == 1, result.stderr
    assert "verifiers are registered for 'basicAuth', which no served operation requires" in result.stderr


async def test_mounts_are_followed_and_named_by_their_full_path(ops: ModuleType) -> None:
    """An OpenAPIApp inside a Mount of routes is found; its operations are named by their served path."""
    built = Service("vault")
    built.http.add_routes(
        [Mount("/outer", routes=[Mount("/api", app=OpenAPIApp(ops.OPERATIONS, Vault(), docs=False))])]
    )
    message = await refusal(built)
    assert "none is installed" in message
    assert "DELETE /outer/api/basic/{id} (deleteBasic)" in message


async def test_middleware_around_an_app_is_looked_through(ops: ModuleType) -> None:
    """An OpenAPIApp wrapped in ASGI middleware (which keeps the app it wraps as ``.app``, as
    Starlette's do) is found too: the service does not start serving its operations open."""
    built = Service("vault")
    api = OpenAPIApp(ops.OPERATIONS, Vault(), chain=built.chain, docs=False)
    built.http.mount("/api", GZipMiddleware(CORSMiddleware(api, allow_origins=["*"])))
    message = await refusal(built)
    assert "none is installed" in message
    assert "DELETE /api/basic/{id} (deleteBasic)" in message


async def test_an_app_outside_the_service_chain_is_refused(ops: ModuleType, key: SigningKey) -> None:
    """An OpenAPIApp built without chain=service.chain runs none of the service's access rules: with
    every scheme enforceable it would still answer a DELETE requiring HTTP basic with 204 to anyone.
    The start is refused, naming where it is mounted and its operations, even those declaring none
    (deny_by_default would not reach them either)."""
    built = Service("vault")
    install(built, verifiers=VERIFIERS)
    built.http.mount("/api", OpenAPIApp(ops.OPERATIONS, Vault(), docs=False))
    message = await refusal(built, issuer(key))
    assert "chain=service.chain" in message
    assert "DELETE /api/basic/{id} (deleteBasic)" in message
    assert "GET /api/status (status)" in message


async def test_everything_enforced_starts(ops: ModuleType, key: SigningKey) -> None:
    """With an issuer and a verifier of the right kind for every other scheme, the service starts."""
    async with TestService(service(ops, VERIFIERS), overrides=[issuer(key)]) as t:
        response = await t.http.get("/api/status")
    assert response.status_code == 200


async def test_disabled_security_starts_and_says_so(ops: ModuleType) -> None:
    """security.enabled=false (development only) skips the check, with a warning counting the operations."""
    async with TestService(service(ops, {}), overrides=["security.enabled=false"]) as t:
        response = await t.http.delete("/api/basic/7")
    assert response.status_code == 204
    warnings = [e for e in t.logs if e.get("event") == "security_disabled"]
    assert warnings
    assert warnings[0]["level"] == "warning"
    assert warnings[0]["operations"] == 12


def test_microlib_run_reports_the_refusal_in_one_line(tmp_path: Path) -> None:
    """`microlib run` exits 1 with one line naming the scheme and its operations, no traceback."""
    generate(SPEC, out_dir=tmp_path / "vaultrun", gen_package="vaultrun")
    (tmp_path / "vault_app.py").write_text(
        textwrap.dedent(
            """
            from microlib.service import Service
            from microlib.http.openapi import OpenAPIApp
            from microlib.security import install
            from vaultrun import operations
            from vaultrun.handlers import VaultApi

            async def answer(self, *args, **kwargs):
                return None

            # Every handler written: the refusal under test is the security scheme's.
            Vault = type("Vault", (VaultApi,), {n: answer for n in dir(VaultApi) if not n.startswith("_")})

            service = Service("vault")
            install(service)
            service.http.mount("/api", OpenAPIApp(operations.OPERATIONS, Vault(), chain=service.chain))
            """
        )
    )
    result = microlib_run(tmp_path, "vault_app:service")
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("microlib run: ")]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("microlib run: component 'security' failed to start: SecurityNotEnforced: ")
    assert "security scheme 'basicAuth' (http basic) has no verifier" in line
    assert "DELETE /api/basic/{id} (deleteBasic)" in line
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("definition", "error"),
    [
        ("apiKey", r"has no definition \(only 'apiKey'\): run `microlib codegen` again"),
        ({"type": "saml"}, r"has type 'saml'; expected one of apiKey, http, mutualTLS"),
        ({"type": "http"}, r"is of type http and needs a 'scheme'"),
        ({"type": "apiKey", "in": "body", "name": "k"}, r"is of type apiKey and needs 'in' \(header, query"),
        ({"type": "apiKey", "in": "header"}, r"is of type apiKey and needs 'in' .* and a 'name'"),
    ],
)
def test_scheme_definition_errors_name_the_operation(definition: object, error: str) -> None:
    """A scheme the runtime cannot enforce (old generated code, an unknown type, missing fields)
    fails the app's construction, naming the operation and the scheme."""
    op = Operation(
        "getNote",
        "GET",
        "/notes",
        "notes",
        "get_note",
        security=[{"key": []}],
        security_schemes={"key": definition},
    )

    class Handler:
        async def get_note(self) -> None:
            return None

    with pytest.raises(InvalidArgument, match=r"GET /notes \(getNote\): security scheme 'key' " + error):
        OpenAPIApp([op], Handler(), docs=False)


@pytest.mark.parametrize(
    ("definition", "metadata", "kind"),
    [
        ({"type": "http", "scheme": "basic"}, {"authorization": "Basic YWxpY2U6cHc="}, "BasicVerifier"),
        ({"type": "apiKey", "in": "header", "name": "X-Key"}, {"x-key": "k-1"}, "ApiKeyVerifier"),
        ({"type": "mutualTLS"}, {}, "RequestVerifier"),
    ],
)
async def test_interceptor_without_a_verifier_fails_closed(
    definition: dict[str, str], metadata: dict[str, str], kind: str
) -> None:
    """Outside a Service (no startup check), a scheme without its verifier is refused: 503 NO_VERIFIER."""
    security = Security.from_settings(settings_for())
    requirement = from_openapi_security([{"scheme": []}], {"scheme": definition})

    async def handler(ctx: CallContext) -> None:
        raise AssertionError("reached the handler")

    ctx = CallContext("http", "vault", "op", metadata=metadata, attributes={SECURITY_ATTRIBUTE: requirement})
    with pytest.raises(Unavailable) as caught:
        await compose([security.authn, security.authz], handler)(ctx)
    assert caught.value.reason == "NO_VERIFIER"
    assert f"has no {kind} registered" in caught.value.message
