"""OPA through a real Service: per-resource rules from the path's values and the decoded request, on
every door, and decisions cached across requests that differ only in per-request fields.

Both engines are exercised: in-process Rego (regopy) from a policy file, and an OPA decision API
over HTTP (a stand-in evaluating the same policy with rego-cpp), as ``test_opa.py`` does.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import httpx
import pytest
from starlette.requests import Request

from microlib.core.context import current_context
from microlib.http.openapi import OpenAPIApp, Reply
from microlib.security.feature import SecurityFeature, install
from microlib.security.opa import OpaAuthorizer
from microlib.service import Service
from microlib.testing import TestService
from microlib_codegen.openapi import generate

from .conftest import OidcIssuer
from .helpers import doors_servicers, opa_stand_in

SPEC = Path(__file__).resolve().parent / "specs/notes.yaml"
LEDGER = "doorstest.v1.LedgerService"

POLICY = """
package records

import rego.v1

default allow := false

# A caller reaches what is theirs: the request names them as its owner...
allow if input.request.owner == input.principal.subject

# ...or the path does.
allow if input.path_params.id == input.principal.subject
"""


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated ``operations`` module of the notes document."""
    out = tmp_path_factory.mktemp("openapi")
    generate(SPEC, out_dir=out / "opanotesgen", gen_package="opanotesgen")
    sys.path.insert(0, str(out))
    return importlib.import_module("opanotesgen.operations")


@pytest.fixture
def policy_file(tmp_path: Path) -> str:
    """The policy, on disk."""
    path = tmp_path / "records.rego"
    path.write_text(POLICY)
    return str(path)


@pytest.fixture
async def opa_url() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """An OPA decision API for the policy, and the inputs it received."""
    async with opa_stand_in(POLICY, "records.allow") as (url, inputs):
        yield f"{url}/v1/data/records/allow", inputs


def records_service(gen: ModuleType, ops: ModuleType) -> tuple[Service, SecurityFeature]:
    """The ledger (no contract rule) over gRPC and REST, a plain route and the notes API."""
    _, ledger = doors_servicers(gen)

    class Notes:
        async def list_notes(self) -> object:
            return ops.models.Caller(authenticated=True, subject="", scopes=[])

        async def delete_note(self, *, id: str) -> Reply:
            return Reply(None, status=204)

        async def status(self) -> object:
            return ops.models.Caller(authenticated=False, subject="", scopes=[])

    service = Service("records")
    feature = install(service)
    service.include(ledger)

    @service.http.route("/users/{id}")
    async def user(request: Request) -> dict[str, str]:
        ctx = current_context()
        assert ctx is not None
        assert ctx.principal is not None
        return {"id": request.path_params["id"], "subject": ctx.principal.subject}

    service.http.mount(
        "/api",
        OpenAPIApp(ops.OPERATIONS, Notes(), chain=service.chain, title=ops.TITLE, docs=False, prefix="/api"),
    )
    return service, feature


def config(oidc: OidcIssuer, opa: dict[str, Any]) -> list[str]:
    """The fixture issuer and the OPA settings as --set overrides."""
    issuer = {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}
    return [f"security.issuers={json.dumps([issuer])}", f"security.opa={json.dumps(opa)}"]


def opa_of(feature: SecurityFeature) -> OpaAuthorizer:
    """The service's OPA authorizer."""
    [found] = [c for c in feature.security.components if isinstance(c, OpaAuthorizer)]
    return found


async def add_entry(t: TestService, gen: ModuleType, owner: str, token: str) -> tuple[str, int]:
    """AddEntry over gRPC and over REST: the gRPC code's name and the HTTP status."""
    method = gen.LedgerService.__microlib_service__.methods["AddEntry"]
    payload = method.encode_request(gen.RecordRequest(id="e1", owner=owner))
    try:
        await t.grpc.unary_unary(f"/{LEDGER}/AddEntry")(
            payload, metadata=(("authorization", f"Bearer {token}"),)
        )
        code = "OK"
    except grpc.aio.AioRpcError as exc:
        code = exc.code().name
    rest = await t.http.post(
        "/v1/entries", json={"id": "e1", "owner": owner}, headers={"authorization": f"Bearer {token}"}
    )
    return code, rest.status_code


async def test_owner_rule_from_the_request_holds_on_both_doors(
    oidc: OidcIssuer, doors_gen: ModuleType, ops: ModuleType, policy_file: str
) -> None:
    """With include_request, an in-process Rego rule "owner equals subject" reads the decoded request:
    the owner passes and anyone else is refused, alike over gRPC and transcoded REST."""
    service, _ = records_service(doors_gen, ops)
    opa = {"policy_files": [policy_file], "query": "data.records.allow", "include_request": True}
    async with TestService(service, overrides=config(oidc, opa)) as t:
        token = oidc.mint(sub="alice")
        owner = await add_entry(t, doors_gen, "alice", token)
        other = await add_entry(t, doors_gen, "mallory", token)
    assert owner == ("OK", 200)
    assert other == ("PERMISSION_DENIED", 403)


async def test_request_is_left_out_unless_configured(
    oidc: OidcIssuer, doors_gen: ModuleType, ops: ModuleType, policy_file: str
) -> None:
    """By default the request is not in the input (null): the owner rule cannot match on either door."""
    service, _ = records_service(doors_gen, ops)
    opa = {"policy_files": [policy_file], "query": "data.records.allow"}
    async with TestService(service, overrides=config(oidc, opa)) as t:
        outcome = await add_entry(t, doors_gen, "alice", oidc.mint(sub="alice"))
    assert outcome == ("PERMISSION_DENIED", 403)


async def test_path_values_decide_on_every_http_door(
    oidc: OidcIssuer, doors_gen: ModuleType, ops: ModuleType, policy_file: str
) -> None:
    """A rule on the path's values holds on plain, OpenAPI-first and transcoded routes."""
    service, _ = records_service(doors_gen, ops)
    opa = {"policy_files": [policy_file], "query": "data.records.allow"}
    async with TestService(service, overrides=config(oidc, opa)) as t:
        headers = {"authorization": f"Bearer {oidc.mint(sub='alice', scope='notes.write')}"}
        statuses = [
            (await t.http.request(verb, path, headers=headers)).status_code
            for verb, path in [
                ("GET", "/users/alice"),
                ("GET", "/users/bob"),
                ("DELETE", "/api/notes/alice"),
                ("DELETE", "/api/notes/bob"),
                ("GET", "/v1/entries/alice"),
                ("GET", "/v1/entries/bob"),
            ]
        ]
    assert statuses == [200, 403, 204, 403, 200, 403]


async def test_input_documents_over_the_decision_api(
    oidc: OidcIssuer, doors_gen: ModuleType, ops: ModuleType, opa_url: tuple[str, list[dict[str, Any]]]
) -> None:
    """What OPA receives from each door: the route template, the path's values and the request as
    proto3 JSON (proto messages) or the operation's arguments (OpenAPI); a plain route has no request."""
    url, inputs = opa_url
    service, _ = records_service(doors_gen, ops)
    opa = {"url": url, "include_request": True, "cache_ttl": 0}
    async with TestService(service, overrides=config(oidc, opa)) as t:
        token = oidc.mint(sub="alice", scope="notes.write")
        await add_entry(t, doors_gen, "alice", token)
        headers = {"authorization": f"Bearer {token}"}
        for verb, path in [("GET", "/v1/entries/e7"), ("GET", "/users/u1"), ("DELETE", "/api/notes/n1")]:
            await t.http.request(verb, path, headers=headers)
    seen = [(i["kind"], i["method"], i["path"], i["path_params"], i["request"]) for i in inputs]
    assert seen == [
        ("grpc", "AddEntry", None, {}, {"id": "e1", "owner": "alice"}),
        ("http", "AddEntry", "/v1/entries", {}, {"id": "e1", "owner": "alice"}),
        ("http", "GetEntry", "/v1/entries/{id}", {"id": "e7"}, {"id": "e7"}),
        ("http", "/users/{id}", "/users/{id}", {"id": "u1"}, None),
        ("http", "deleteNote", "/notes/{id}", {"id": "n1"}, {"id": "n1"}),
    ]


@pytest.mark.parametrize("engine", ["rego", "http"])
async def test_identical_calls_hit_the_decision_cache(
    oidc: OidcIssuer,
    doors_gen: ModuleType,
    ops: ModuleType,
    policy_file: str,
    opa_url: tuple[str, list[dict[str, Any]]],
    engine: str,
) -> None:
    """Three identical calls over new connections (other peer ports, request ids and trace ids) make
    one policy evaluation per door; another caller is another evaluation."""
    url, inputs = opa_url
    opa: dict[str, Any] = {"url": url} if engine == "http" else {"policy_files": [policy_file]}
    service, feature = records_service(doors_gen, ops)
    opa.update(query="data.records.allow", include_request=True)
    async with TestService(service, overrides=config(oidc, opa), listen=True):
        token = oidc.mint(sub="alice")
        base = f"http://127.0.0.1:{service.component('http').port}"  # type: ignore[attr-defined]
        for n in range(3):
            async with httpx.AsyncClient(base_url=base) as client:  # a new connection: a new peer port
                headers = {
                    "authorization": f"Bearer {token}",
                    "x-request-id": f"req-{n}",
                    "traceparent": f"00-{n + 1:032x}-{n + 1:016x}-01",
                }
                assert (await client.get("/users/alice", headers=headers)).status_code == 200
        method = doors_gen.LedgerService.__microlib_service__.methods["AddEntry"]
        payload = method.encode_request(doors_gen.RecordRequest(id="e1", owner="alice"))
        for n in range(3):
            async with grpc.aio.insecure_channel(f"127.0.0.1:{service.component('grpc').port}") as channel:  # type: ignore[attr-defined]
                metadata = (("authorization", f"Bearer {token}"), ("x-request-id", f"req-{n}"))
                await channel.unary_unary(f"/{LEDGER}/AddEntry")(payload, metadata=metadata)
        async with httpx.AsyncClient(base_url=base) as client:
            other = await client.get(
                "/users/bob", headers={"authorization": f"Bearer {oidc.mint(sub='bob')}"}
            )
        evaluations = opa_of(feature).evaluations
    assert other.status_code == 200
    assert evaluations == 3
    if engine == "http":
        assert len(inputs) == 3
