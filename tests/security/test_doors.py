"""One access decision on every door: a method's rule holds the same over gRPC and transcoded REST,
and with ``deny_by_default`` no route of any kind the service serves is reachable without a rule.

The contract (``protos/doorstest/v1/doors.proto``) declares access rules with the ``microlib.v1``
options and REST bindings with ``google.api.http``; the real Service serves it over a real gRPC
channel and through its HTTP app, behind the local OIDC issuer.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from starlette.requests import Request
from starlette.routing import Mount, Route

from microlib.contract.definition import MethodDefinition, MethodKind
from microlib.http._operation_route import OperationRoute
from microlib.http._transcode_route import TemplateRoute
from microlib.http.openapi import OpenAPIApp, Reply
from microlib.security.feature import install
from microlib.service import Service
from microlib.testing import TestService
from microlib_codegen.openapi import generate

from .conftest import OidcIssuer, SigningKey
from .helpers import doors_servicers

SPEC = Path(__file__).resolve().parent / "specs/notes.yaml"

# What each door answers for one outcome.
HTTP_OUTCOME = {200: "OK", 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}


def issuer_config(oidc: OidcIssuer, realm: str) -> list[str]:
    """The fixture issuer as --set overrides, with deny_by_default on."""
    issuer = {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}
    return [
        f"security.issuers={json.dumps([issuer])}",
        f"security.realm={realm}",
        "security.deny_by_default=true",
    ]


@dataclass(frozen=True)
class Case:
    """One access case: a call of ``method`` with ``authorization``, and the outcome both doors give."""

    name: str
    service: str
    method: str
    authorization: Callable[[OidcIssuer, SigningKey], str | None]
    expected: str
    fields: dict[str, Any] = field(default_factory=lambda: {"id": "r1", "owner": "user-1"})
    malformed: bool = False


def bearer(**claims: Any) -> Callable[[OidcIssuer, SigningKey], str]:
    """A valid token with ``claims``."""
    return lambda oidc, _: f"Bearer {oidc.mint(**claims)}"


def anonymous(oidc: OidcIssuer, other: SigningKey) -> None:
    """No credentials at all."""
    return


RECORDS = "doorstest.v1.RecordService"
LEDGER = "doorstest.v1.LedgerService"
READER = bearer(scope="records.read")
CASES = [
    Case("no token", RECORDS, "GetRecord", anonymous, "UNAUTHENTICATED"),
    Case("no token, stream", RECORDS, "WatchRecord", anonymous, "UNAUTHENTICATED"),
    Case("malformed token", RECORDS, "GetRecord", lambda o, k: "Bearer not.a.token", "UNAUTHENTICATED"),
    Case("expired token", RECORDS, "GetRecord", bearer(scope="records.read", exp=1), "UNAUTHENTICATED"),
    Case(
        "token signed by an unknown key",
        RECORDS,
        "GetRecord",
        lambda oidc, other: f"Bearer {oidc.mint(other, scope='records.read')}",
        "UNAUTHENTICATED",
    ),
    Case("not a bearer credential", RECORDS, "GetRecord", lambda o, k: "Basic dTpw", "UNAUTHENTICATED"),
    Case("lacking the scope", RECORDS, "GetRecord", bearer(scope="other"), "PERMISSION_DENIED"),
    Case("lacking the scope, stream", RECORDS, "WatchRecord", bearer(scope="other"), "PERMISSION_DENIED"),
    Case("lacking the role", RECORDS, "UpdateRecord", bearer(scope="records.write"), "PERMISSION_DENIED"),
    Case(
        "lacking the scope, with the role",
        RECORDS,
        "UpdateRecord",
        bearer(roles=["owner"]),
        "PERMISSION_DENIED",
    ),
    Case("satisfying the default", RECORDS, "GetRecord", READER, "OK"),
    Case("satisfying, stream", RECORDS, "WatchRecord", READER, "OK"),
    Case(
        "satisfying scope and role",
        RECORDS,
        "UpdateRecord",
        bearer(scope="records.write", roles=["owner"]),
        "OK",
    ),
    Case("public, anonymous", RECORDS, "Ping", anonymous, "OK"),
    Case("public, with a bad token", RECORDS, "Ping", lambda o, k: "Bearer garbage", "OK"),
    Case("config rule overrides the contract", RECORDS, "AuditRecord", READER, "PERMISSION_DENIED"),
    Case("config rule satisfied", RECORDS, "AuditRecord", bearer(roles=["auditor"]), "OK"),
    Case(
        "no rule, deny_by_default",
        LEDGER,
        "GetEntry",
        bearer(scope="records.read", roles=["admin"]),
        "PERMISSION_DENIED",
    ),
    Case("no rule, deny_by_default, anonymous", LEDGER, "AddEntry", anonymous, "UNAUTHENTICATED"),
    Case(
        "malformed request, anonymous", RECORDS, "UpdateRecord", anonymous, "UNAUTHENTICATED", malformed=True
    ),
    Case(
        "malformed request, lacking the role",
        RECORDS,
        "UpdateRecord",
        READER,
        "PERMISSION_DENIED",
        malformed=True,
    ),
    Case(
        "malformed request, allowed",
        RECORDS,
        "UpdateRecord",
        bearer(scope="records.write", roles=["admin"]),
        "INVALID_ARGUMENT",
        malformed=True,
    ),
]


async def over_grpc(
    channel: grpc.aio.Channel, method: MethodDefinition, case: Case, auth: str | None
) -> tuple[str, Any]:
    """Call ``method`` on a real channel; the status code's name and the (last) response."""
    metadata = (("authorization", auth),) if auth is not None else ()
    payload = b"\xff\xff\xff" if case.malformed else method.encode_request(method.request_type(**case.fields))
    path = f"/{case.service}/{case.method}"
    try:
        if method.kind is MethodKind.UNARY_STREAM:
            replies = [r async for r in channel.unary_stream(path)(payload, metadata=metadata)]
            return "OK", method.decode_response(replies[-1])
        return "OK", method.decode_response(await channel.unary_unary(path)(payload, metadata=metadata))
    except grpc.aio.AioRpcError as exc:
        return exc.code().name, None


async def over_rest(client: Any, method: MethodDefinition, case: Case, auth: str | None) -> tuple[str, Any]:
    """Call ``method`` through its REST binding; the outcome's name and the (last) JSON document."""
    rule = method.http_rules[0]
    path = re.sub(r"\{id\}", case.fields["id"], rule.path)
    headers = {"authorization": auth} if auth is not None else {}
    content: bytes | None = None
    if rule.body:
        content = b"{not json" if case.malformed else json.dumps(case.fields).encode()
        headers["content-type"] = "application/json"
    response = await client.request(rule.method, path, headers=headers, content=content)
    outcome = HTTP_OUTCOME.get(response.status_code, str(response.status_code))
    if response.status_code != 200:
        return outcome, None
    return outcome, json.loads(response.text.strip().splitlines()[-1])


async def test_every_access_case_is_decided_alike_on_both_doors(
    oidc: OidcIssuer, doors_gen: ModuleType, other_key: SigningKey
) -> None:
    """gRPC and transcoded REST give the same outcome for every access case of the same method,
    and an anonymous caller learns nothing of the request's shape (401 before 400) on either."""
    records, ledger = doors_servicers(doors_gen)
    service = Service("records")
    install(service)
    service.include(records)
    service.include(ledger)
    rule = json.dumps({f"{RECORDS}/AuditRecord": {"roles": ["auditor"]}})
    definitions = {
        d.full_name: d
        for d in (doors_gen.RecordService.__microlib_service__, doors_gen.LedgerService.__microlib_service__)
    }
    outcomes = []
    async with TestService(
        service, overrides=[*issuer_config(oidc, "records"), f"security.methods={rule}"]
    ) as t:
        for case in CASES:
            method = definitions[case.service].methods[case.method]
            auth = case.authorization(oidc, other_key)
            grpc_outcome, grpc_reply = await over_grpc(t.grpc, method, case, auth)
            rest_outcome, rest_reply = await over_rest(t.http, method, case, auth)
            seen = None
            if grpc_reply is not None and rest_reply is not None:
                seen = (grpc_reply.subject, grpc_reply.authenticated) == (
                    rest_reply.get("subject", ""),
                    rest_reply.get("authenticated", False),
                )
            outcomes.append((case.name, grpc_outcome, rest_outcome, seen))
    expected = [
        (case.name, case.expected, case.expected, True if case.expected == "OK" else None) for case in CASES
    ]
    assert outcomes == expected


def open_notes_spec(tmp: Path) -> Path:
    """The notes document with every ``security`` removed: its operations declare no rule."""
    document = yaml.safe_load(SPEC.read_text())
    document.pop("security", None)
    for item in document["paths"].values():
        for operation in item.values():
            operation.pop("security", None)
    path = tmp / "open-notes.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def open_ops(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated ``operations`` module of the rule-less notes document."""
    out = tmp_path_factory.mktemp("openapi")
    generate(open_notes_spec(out), out_dir=out / "opennotesgen", gen_package="opennotesgen")
    sys.path.insert(0, str(out))
    import importlib

    return importlib.import_module("opennotesgen.operations")


def everything_service(gen: ModuleType, ops: ModuleType) -> Service:
    """A service serving every kind of route, none with an access rule."""
    _, ledger = doors_servicers(gen)

    class Notes:
        async def list_notes(self) -> object:
            return ops.models.Caller(authenticated=True, subject="", scopes=[])

        async def delete_note(self, *, id: str) -> Reply:
            return Reply(None, status=204)

        async def status(self) -> object:
            return ops.models.Caller(authenticated=True, subject="", scopes=[])

    service = Service("everything")
    install(service)
    service.include(ledger)

    @service.http.route("/plain/{name}")
    async def plain(request: Request) -> dict[str, str]:
        return {"name": request.path_params["name"]}

    @service.http.route("/plain", methods=["POST"])
    async def plain_post(request: Request) -> None:
        return None

    api = OpenAPIApp(
        ops.OPERATIONS, Notes(), chain=service.chain, title=ops.TITLE, spec_path=ops.SPEC_PATH, prefix="/api"
    )
    service.http.mount("/api", api)
    return service


@dataclass(frozen=True)
class Door:
    """One way into the service: an HTTP method on a path, or a gRPC method."""

    kind: str
    verb: str
    template: str

    @property
    def path(self) -> str:
        """A concrete path for the template."""
        return re.sub(r"\{[^}]+\}", "x", self.template)


def http_doors(app: Any) -> list[Door]:
    """Every route the built Starlette app serves, whatever added it."""
    doors = []
    for route in app.routes:
        if isinstance(route, TemplateRoute):
            doors.append(Door("transcoded", route.method, route.template.text))
        elif isinstance(route, OperationRoute):
            continue  # a mounted OpenAPIApp's operations in the app's router: listed with the mount below
        elif isinstance(route, Mount) and isinstance(route.app, OpenAPIApp):
            doors += [Door("openapi", op.method, route.path + op.path) for op in route.app.operations]
            # The document and its page, which the app serves itself.
            doors += [Door("openapi", "GET", route.path + path) for path in route.app.document_paths]
        elif isinstance(route, Route):
            doors += [Door("plain", verb, route.path) for verb in sorted((route.methods or set()) - {"HEAD"})]
        else:
            pytest.fail(
                f"route {route!r} is of a kind this test cannot reach: teach it, and check its access"
            )
    return doors


def grpc_doors(port: int) -> list[tuple[str, str, bool]]:
    """Every gRPC method the server lists through reflection: (service, method, client streaming)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = descriptor_pool.DescriptorPool(database)
        found = []
        for name in database.get_services():
            for method in pool.FindServiceByName(name).methods:
                found.append((name, method.name, method.client_streaming))
        return found


def public(template: str, globs: list[str]) -> bool:
    """Whether a route template is listed in ``security.public_paths``."""
    return any(fnmatch.fnmatchcase(template, glob) for glob in globs)


async def test_deny_by_default_refuses_every_route_without_a_rule(
    oidc: OidcIssuer, doors_gen: ModuleType, open_ops: ModuleType
) -> None:
    """With deny_by_default and no rule, every route of every kind (plain, OpenAPI-first, transcoded,
    management, gRPC) refuses an anonymous caller (401) and an authenticated one (403 NO_ACCESS_RULE),
    before it looks at the request (each one is malformed: bad JSON, an unknown query parameter, a bad
    deadline header, bytes that are no message); only what ``public_paths`` / ``public_methods`` list
    (probes, metrics) answers."""
    service = everything_service(doors_gen, open_ops)
    overrides = [*issuer_config(oidc, "everything"), "logging.admin.enabled=true"]
    bearer = f"Bearer {oidc.mint(scope='records.read notes.read', roles=['admin'])}"
    malformed = {"x-request-timeout": "soon", "content-type": "application/json"}
    token = {**malformed, "authorization": bearer}
    refused: list[tuple[str, str, str, int, int]] = []
    opened: list[str] = []
    async with TestService(service, overrides=overrides) as t:
        settings = service.config.security
        doors = http_doors(service.http.app)
        for door in doors:
            if public(door.template, settings.public_paths):
                # Open to anyone: a well-formed request is not refused (its made-up path parameter,
                # a Swagger UI asset named `x`, may still be a 404).
                opened_answer = await t.http.request(door.verb, door.path)
                assert opened_answer.status_code not in (401, 403), (door, opened_answer.text)
                assert opened_answer.status_code < 400 or "{" in door.template, (door, opened_answer.text)
                opened.append(door.template)
                continue
            body = b"{not json" if door.verb in ("POST", "PUT", "PATCH") else None
            path = f"{door.path}?unknown=1"
            anonymous = await t.http.request(door.verb, path, content=body, headers=malformed)
            authenticated = await t.http.request(door.verb, path, content=body, headers=token)
            reason = authenticated.json().get("reason") if authenticated.status_code == 403 else ""
            refused.append(
                (door.kind, door.verb, door.template, anonymous.status_code, authenticated.status_code)
            )
            assert (anonymous.status_code, authenticated.status_code, reason) == (
                401,
                403,
                "NO_ACCESS_RULE",
            ), door
        methods = await asyncio.to_thread(grpc_doors, service.component("grpc").port)  # type: ignore[attr-defined]
        for name, method, streaming in methods:
            full = f"{name}/{method}"
            if any(fnmatch.fnmatchcase(full, glob) for glob in settings.public_methods):
                opened.append(full)
                continue
            assert not streaming, full
            call = t.grpc.unary_unary(f"/{full}")
            codes = []
            for metadata in ((), (("authorization", bearer),)):
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await call(b"\xff\xff\xff", metadata=metadata)
                codes.append(caught.value.code())
            refused.append(("grpc", "", full, *codes))  # type: ignore[arg-type]
            assert codes == [grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED], full
    kinds = {kind for kind, *_ in refused}
    assert kinds == {"plain", "openapi", "transcoded", "grpc"}
    assert ("plain", "PUT", "/admin/loggers", 401, 403) in refused
    assert {"/metrics", "/health/ready"} <= set(opened)


async def test_served_documents_are_refused_when_not_public(
    oidc: OidcIssuer, doors_gen: ModuleType, open_ops: ModuleType
) -> None:
    """The documents a service serves (the OpenAPI of its servicers, the AsyncAPI of its messages, an
    OpenAPI-first API's own document and page) go through the access decision like any route: not
    listed in public_paths, deny_by_default refuses them."""
    service = everything_service(doors_gen, open_ops)
    overrides = [*issuer_config(oidc, "everything"), "security.public_paths=[/health/*]"]
    async with TestService(service, overrides=overrides) as t:
        for path in (
            "/openapi.json",
            "/openapi.yaml",
            "/docs",
            "/api/openapi.json",
            "/api/openapi.yaml",
            "/api/docs",
        ):
            answer = await t.http.get(path)
            assert answer.status_code == 401, (path, answer.text)


async def test_metrics_on_the_service_port_follow_the_access_rules(
    oidc: OidcIssuer, doors_gen: ModuleType, open_ops: ModuleType
) -> None:
    """/metrics on the service's own port (no metrics.port) is a management route like the log-level
    endpoint: taken out of public_paths, deny_by_default refuses it, and a rule on it decides."""
    service = everything_service(doors_gen, open_ops)
    rule = json.dumps({"http//metrics": {"roles": ["monitoring"]}})
    overrides = [*issuer_config(oidc, "everything"), "security.public_paths=[/health/*]"]
    async with TestService(service, overrides=overrides) as t:
        anonymous = await t.http.get("/metrics")
        unruled = await t.http.get(
            "/metrics", headers={"authorization": f"Bearer {oidc.mint(roles=['admin'])}"}
        )
    async with TestService(
        everything_service(doors_gen, open_ops), overrides=[*overrides, f"security.methods={rule}"]
    ) as t:
        refused = await t.http.get(
            "/metrics", headers={"authorization": f"Bearer {oidc.mint(roles=['ops'])}"}
        )
        allowed = await t.http.get(
            "/metrics", headers={"authorization": f"Bearer {oidc.mint(roles=['monitoring'])}"}
        )
    assert (anonymous.status_code, unruled.status_code, unruled.json()["reason"]) == (
        401,
        403,
        "NO_ACCESS_RULE",
    )
    assert (refused.status_code, allowed.status_code) == (403, 200)
    assert "microlib_" in allowed.text
