"""The message and job doors: the principal travels with the message or job, and is decided
there by the same resolver and authorizers as on gRPC and REST (docs/security.md, "Messages
and jobs")."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import aio_pika
import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from starlette.requests import Request

from microlib.config import ConfigError
from microlib.core.context import CallContext, Principal
from microlib.core.propagation import job_content
from microlib.jobs import JobContext, JobEnvelope
from microlib.messaging import MessageContext
from microlib.messaging.broker import OutgoingMessage
from microlib.messaging.codec import MESSAGE_HEADER
from microlib.messaging.definition import OperationDefinition
from microlib.security import install
from microlib.security.authz import Decision
from microlib.security.principals import PRINCIPAL_HEADER, PrincipalSigner
from microlib.security.requirements import SecurityRequirement
from microlib.service import Service
from microlib.testing import TestService
from microlib.testing.logs import capture_logs
from tests.jobs._contract import Handlers, Receipt, ShopJobsEnqueuer, Tick
from tests.jobs.conftest import AMQP_URL, REDIS_URL, Backend
from tests.messaging.contract import Orders, eventually, orders, placed

from .conftest import OidcIssuer
from .helpers import doors_servicers

RECORDS = "doorstest.v1.RecordService"
RULE = {"scopes": ["records.write"], "roles": ["owner"]}
NO_SCHEDULER = "jobs.scheduler.enabled=false"


def signing_key(tmp: Path, name: str = "principal.pem") -> Path:
    """A fresh Ed25519 private key in a PEM file."""
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp / name
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


def overrides(oidc: OidcIssuer, key: Path, rules: dict[str, Any], *extra: str) -> list[str]:
    """The fixture issuer, deny_by_default, this service's signing key and ``rules``."""
    issuer = {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}
    return [
        f"security.issuers={json.dumps([issuer])}",
        "security.deny_by_default=true",
        f"security.propagation.signing_key_file={key}",
        f"security.methods={json.dumps(rules)}",
        NO_SCHEDULER,
        *extra,
    ]


class Seen:
    """What the consumer and the job handler saw, and how each delivery ended."""

    def __init__(self) -> None:
        self.messages: dict[str, Principal | None] = {}
        self.jobs: dict[str, Principal | None] = {}
        self.settled: dict[str, asyncio.Future[str]] = {}

    def settlement(self, message_id: str) -> asyncio.Future[str]:
        return self.settled.setdefault(message_id, asyncio.get_running_loop().create_future())

    def observe(self, operation: OperationDefinition, delivery: Any, outcome: str) -> None:
        future = self.settlement(delivery.message_id)
        if not future.done():
            future.set_result(outcome)


def doors_service(gen: ModuleType, contract: Orders, seen: Seen, **install_args: Any) -> Service:
    """One service with every door: gRPC (and REST) methods, a consumer, jobs, and a route that
    publishes a message and enqueues a job as its caller."""
    records, ledger = doors_servicers(gen)
    service = Service("records")
    install(service, **install_args)
    service.include(records)
    service.include(ledger)

    async def on_order(self: Any, payload: Any, ctx: MessageContext) -> None:
        assert ctx.call is not None
        seen.messages[ctx.message_id] = ctx.call.principal

    service.include(type("Stock", (contract.consumer,), {"on_order": on_order})())

    class Jobs(Handlers):
        async def send_receipt(self, payload: Receipt, ctx: JobContext) -> Any:
            seen.jobs[ctx.id] = ctx.call.principal
            return await super().send_receipt(payload, ctx)

        async def heartbeat(self, payload: Tick, ctx: JobContext) -> None:
            seen.jobs[ctx.id] = ctx.call.principal

    service.include(Jobs())

    @service.http.route("/emit", methods=["POST"])
    async def emit(request: Request) -> dict[str, str]:
        message_id = uuid.uuid4().hex
        await service.publisher.publish(
            contract.place_order, placed(), parameters={"region": "eu"}, message_id=message_id
        )
        handle = await ShopJobsEnqueuer(service.jobs).send_receipt(Receipt(order_id="o-1"))
        return {"message_id": message_id, "job_id": handle.id}

    return service


@pytest.fixture
def contract() -> Orders:
    """The orders document under a prefix of the test's own."""
    return orders(f"t{uuid.uuid4().hex[:8]}")


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.connected),
        pytest.param("amqp", marks=pytest.mark.connected),
    ]
)
async def brokers(request: pytest.FixtureRequest) -> AsyncIterator[list[str]]:
    """Messages and jobs on one backend: in memory, on Redis (streams, taskiq), or on RabbitMQ
    (jobs keeping their store in Redis); the test's own group, streams, queues and namespace.
    (Later overrides win over TestService's in-memory broker.)"""
    kind: str = request.param
    jobs = Backend(kind, None)
    group = f"g{uuid.uuid4().hex[:10]}"
    messaging = {
        "memory": [],
        "redis": [f"messaging.url={REDIS_URL}", "messaging.consumers.onOrder.parameters.region=eu"],
        "amqp": [f"messaging.url={AMQP_URL}"],
    }[kind]
    yield [*jobs.overrides, *messaging, f"messaging.group={group}"]
    await jobs.clean()
    if kind == "amqp":
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            for queue in (f"{group}.onOrder", f"{group}.onOrder.dlq"):
                await channel.queue_delete(queue)


async def message_outcome(t: TestService, seen: Seen, contract: Orders, message_id: str) -> tuple[str, str]:
    """How the message ended: OK, or the dead letter's code and reason."""
    outcome = await asyncio.wait_for(seen.settlement(message_id), 10)
    if outcome == "ack":
        return "OK", ""
    letters = await t.messages.dead_letters(contract.on_order)
    (letter,) = [m for m in letters if m.message_id == message_id]
    return letter.headers["x-microlib-error-code"], letter.headers.get("x-microlib-error-reason", "")


async def job_outcome(t: TestService, seen: Seen, job_id: str) -> tuple[str, str]:
    """How the job ended: OK, or the dead letter's code and the reason in its error."""

    async def ended() -> tuple[str, str] | None:
        if job_id in seen.jobs:
            return "OK", ""
        for letter in await t.service.jobs.queue.dead_letters():
            if letter.envelope.id == job_id:
                return letter.code, letter.error.partition("(")[2].partition(")")[0]
        return None

    outcome: tuple[str, str] = await eventually(ended, what=f"job {job_id} ending")
    return outcome


async def over_grpc(t: TestService, gen: ModuleType, token: str) -> str:
    """The outcome of UpdateRecord over gRPC with ``token``."""
    method = gen.RecordService.__microlib_service__.methods["UpdateRecord"]
    payload = method.encode_request(method.request_type(id="r1", owner="user-1"))
    try:
        await t.grpc.unary_unary(f"/{RECORDS}/UpdateRecord")(
            payload, metadata=(("authorization", f"Bearer {token}"),)
        )
    except grpc.aio.AioRpcError as exc:
        return exc.code().name
    return "OK"


CALLERS: list[tuple[str, dict[str, Any], str]] = [
    ("scope and role", {"scope": "records.write", "roles": ["owner"]}, "OK"),
    ("lacking the role", {"scope": "records.write"}, "PERMISSION_DENIED"),
    ("lacking the scope", {"roles": ["owner"]}, "PERMISSION_DENIED"),
    ("another scope", {"scope": "records.read", "roles": ["admin"]}, "PERMISSION_DENIED"),
]


async def test_a_rule_decides_alike_on_grpc_rest_message_and_job_doors(
    oidc: OidcIssuer, doors_gen: ModuleType, contract: Orders, tmp_path: Path, brokers: list[str]
) -> None:
    """The same rule on a gRPC method, a consumer and a job gives the same outcome for every
    caller: the message and the job carry the caller who sent them, signed, and are decided
    with that principal; a refusal is dead-lettered with its code and reason."""
    seen = Seen()
    service = doors_service(doors_gen, contract, seen)
    rules = {
        f"{RECORDS}/UpdateRecord": RULE,
        "Orders/onOrder": RULE,
        "shop.jobs/send_receipt": RULE,
        "http//emit": {},  # any authenticated caller may send
    }
    outcomes = []
    settings = [*overrides(oidc, signing_key(tmp_path), rules), *brokers]
    async with TestService(service, overrides=settings) as t:
        service.messaging.observers.append(seen.observe)
        for name, claims, _ in CALLERS:
            token = oidc.mint(sub=f"user-{len(outcomes)}", **claims)
            grpc_outcome = await over_grpc(t, doors_gen, token)
            response = await t.http.patch(
                "/v1/records/r1", headers={"authorization": f"Bearer {token}"}, json={"owner": "user-1"}
            )
            rest_outcome = {200: "OK", 403: "PERMISSION_DENIED"}.get(response.status_code, "?")
            sent = await t.http.post("/emit", headers={"authorization": f"Bearer {token}"})
            assert sent.status_code == 200, sent.text
            ids = sent.json()
            message = await message_outcome(t, seen, contract, ids["message_id"])
            job = await job_outcome(t, seen, ids["job_id"])
            outcomes.append((name, grpc_outcome, rest_outcome, message[0], job[0]))
            if message[0] == "OK":
                principal = seen.messages[ids["message_id"]]
                job_principal = seen.jobs[ids["job_id"]]
                assert principal is not None
                assert job_principal is not None
                assert principal.subject == job_principal.subject == f"user-{len(outcomes) - 1}"
                assert principal.claims["origin"]["iss"] == oidc.issuer
            else:
                assert message[1] == job[1] == "INSUFFICIENT_SCOPE"
    assert outcomes == [(name, want, want, want, want) for name, _, want in CALLERS]


BODY = placed().model_dump_json().encode()
"""The body of every raw order message."""
RECEIPT = {"order_id": "o-1"}
"""The payload of every raw receipt job."""


def raw(contract: Orders, headers: dict[str, str]) -> OutgoingMessage:
    """An order message as a producer outside microlib sends it: only ``headers``."""
    return OutgoingMessage(
        address=contract.on_order.resolve({"region": "eu"}),
        body=BODY,
        headers={MESSAGE_HEADER: "OrderPlaced", **headers},
        message_id=uuid.uuid4().hex,
    )


def foreign_signer(tmp: Path, issuer: str) -> PrincipalSigner:
    """Another service's signer (its own key)."""
    key = signing_key(tmp, f"{issuer.replace(':', '-')}.pem").read_bytes()
    return PrincipalSigner(issuer, key, key_id="k1", identity=Principal(issuer))


async def test_refused_messages_and_jobs_are_dead_lettered_with_the_reason_logged(
    oidc: OidcIssuer, doors_gen: ModuleType, contract: Orders, tmp_path: Path
) -> None:
    """A message or job without a principal, with a forged or foreign one, or with a caller's
    access token where the assertion goes, is refused (401 reasons), dead-lettered with code and
    reason, and logged; one signed by a trusted service runs as the principal it names."""
    seen = Seen()
    service = doors_service(doors_gen, contract, seen)
    partner = foreign_signer(tmp_path, "microlib:orders")
    stranger = foreign_signer(tmp_path, "microlib:stranger")
    impostor = PrincipalSigner(  # claims to be this service, signs with another key
        "microlib:records",
        signing_key(tmp_path, "impostor.pem").read_bytes(),
        key_id="microlib",
        identity=Principal("records"),
    )
    trusted = [{"issuer": "microlib:orders", "keys": [partner.public_jwk()]}]
    rules = {"Orders/onOrder": {}, "shop.jobs/send_receipt": {}}  # any authenticated principal
    settings = overrides(
        oidc, signing_key(tmp_path), rules, f"security.propagation.trusted={json.dumps(trusted)}"
    )
    caller = Principal("user-9", scopes=frozenset({"records.write"}))

    def signed(signer: PrincipalSigner, *, other: bytes | None = None) -> Callable[[bytes], dict[str, str]]:
        return lambda content: {PRINCIPAL_HEADER: signer.sign(caller, other or content)}

    cases: dict[str, tuple[Callable[[bytes], dict[str, str]], tuple[str, str]]] = {
        "no principal": (lambda _: {}, ("UNAUTHENTICATED", "MISSING_CREDENTIALS")),
        "signed by an impostor": (signed(impostor), ("UNAUTHENTICATED", "INVALID_SIGNATURE")),
        "signed by an untrusted service": (signed(stranger), ("UNAUTHENTICATED", "UNKNOWN_ISSUER")),
        "an access token in its place": (
            lambda _: {PRINCIPAL_HEADER: oidc.mint(scope="records.write")},
            ("UNAUTHENTICATED", "UNKNOWN_ISSUER"),
        ),
        "signed for another message or job": (
            signed(partner, other=b"another body"),
            ("UNAUTHENTICATED", "CONTENT_MISMATCH"),
        ),
        "signed by a trusted service": (signed(partner), ("OK", "")),
    }
    messages, jobs = {}, {}
    async with TestService(service, overrides=settings) as t:
        service.messaging.observers.append(seen.observe)
        with capture_logs(service.observability.logs) as logs:
            for name, (headers, _) in cases.items():
                message = raw(contract, headers(BODY))
                await service.messaging.broker.publish(contract.on_order, message)
                messages[name] = await message_outcome(t, seen, contract, message.message_id)
                job_headers = headers(job_content("send_receipt", RECEIPT))
                envelope = JobEnvelope("send_receipt", RECEIPT, queue="mail", headers=job_headers)
                await service.jobs.queue.enqueue(envelope)
                jobs[name] = await job_outcome(t, seen, envelope.id)
    expected = {name: outcome for name, (_, outcome) in cases.items()}
    assert (messages, jobs) == (expected, expected)
    assert (
        {m.subject for m in seen.messages.values()} == {j.subject for j in seen.jobs.values()} == {"user-9"}
    )
    refused = sorted((e["kind"], e["reason"]) for e in logs if e["event"] == "authentication_failed")
    reasons = [reason for code, reason in expected.values() if code == "UNAUTHENTICATED"]
    assert refused == sorted((kind, reason) for kind in ("job", "message") for reason in reasons)
    dead = [
        (e["event"], e.get("error_reason") or e.get("error")) for e in logs if "dead-lettered" in e["event"]
    ]
    assert ("message dead-lettered", "MISSING_CREDENTIALS") in dead
    assert ("job dead-lettered", "UNAUTHENTICATED (MISSING_CREDENTIALS): authentication required") in dead
    assert len(dead) == 10  # five refusals, on both doors


async def test_deny_by_default_covers_every_consumer_and_job(
    oidc: OidcIssuer, doors_gen: ModuleType, contract: Orders, tmp_path: Path
) -> None:
    """With deny_by_default and no rule, every receive operation of every consumer and every job
    refuses whatever principal it carries (a caller with every scope and role, the service's own
    identity): 403 NO_ACCESS_RULE, dead-lettered."""
    seen = Seen()
    service = doors_service(doors_gen, contract, seen)
    settings = overrides(oidc, signing_key(tmp_path), {"http//emit": {}})
    outcomes = []
    async with TestService(service, overrides=settings) as t:
        service.messaging.observers.append(seen.observe)
        operations = [op for application, _ in service.messaging._consumers for op in application.receives()]
        jobs = sorted(
            (job for definition in service.jobs.contracts.values() for job in definition.jobs.values()),
            key=lambda job: job.name,
        )
        assert [op.name for op in operations] == ["onOrder"]
        assert [job.name for job in jobs] == ["heartbeat", "send_receipt"]
        token = oidc.mint(scope="records.read records.write", roles=["owner", "admin"])
        sent = (await t.http.post("/emit", headers={"authorization": f"Bearer {token}"})).json()
        outcomes.append(("caller", "onOrder", await message_outcome(t, seen, contract, sent["message_id"])))
        outcomes.append(("caller", "send_receipt", await job_outcome(t, seen, sent["job_id"])))
        for operation in operations:  # outside any call: the service's own identity
            message_id = uuid.uuid4().hex
            await service.publisher.publish(
                contract.place_order, placed(), parameters={"region": "eu"}, message_id=message_id
            )
            outcomes.append(("service", operation.name, await message_outcome(t, seen, contract, message_id)))
        for job in jobs:
            payload = Receipt(order_id="o-1") if job.name == "send_receipt" else Tick()
            handle = await service.jobs.enqueue(job, payload)
            outcomes.append(("service", job.name, await job_outcome(t, seen, handle.id)))
    denied = ("PERMISSION_DENIED", "NO_ACCESS_RULE")
    assert outcomes == [
        ("caller", "onOrder", denied),
        ("caller", "send_receipt", denied),
        ("service", "onOrder", denied),
        ("service", "heartbeat", denied),
        ("service", "send_receipt", denied),
    ]
    assert seen.messages == seen.jobs == {}


async def test_work_the_service_starts_runs_as_its_own_identity(
    oidc: OidcIssuer, doors_gen: ModuleType, contract: Orders, tmp_path: Path
) -> None:
    """A job enqueued outside any call (as a scheduled tick is) runs as the service's identity,
    with the roles ``security.propagation.identity`` gives it, and is refused without them."""
    outcomes = {}
    for roles in (["scheduler"], []):
        seen = Seen()
        service = doors_service(doors_gen, contract, seen)
        settings = overrides(
            oidc,
            signing_key(tmp_path),
            {"shop.jobs/heartbeat": {"roles": ["scheduler"]}},
            f"security.propagation.identity={json.dumps({'roles': roles})}",
        )
        async with TestService(service, overrides=settings) as t:
            handle = await ShopJobsEnqueuer(service.jobs).heartbeat(Tick())
            outcomes[tuple(roles)] = await job_outcome(t, seen, handle.id)
            if seen.jobs:
                (principal,) = seen.jobs.values()
                assert principal is not None
                assert (principal.subject, principal.roles) == ("records", frozenset({"scheduler"}))
                assert principal.claims["iss"] == "microlib:records"
                assert "origin" not in principal.claims
    assert outcomes == {("scheduler",): ("OK", ""), (): ("PERMISSION_DENIED", "INSUFFICIENT_SCOPE")}


async def test_an_assertion_opens_no_other_door_and_outlives_the_token(
    oidc: OidcIssuer, doors_gen: ModuleType, contract: Orders, tmp_path: Path
) -> None:
    """The assertion a message carries is no access token (gRPC and REST refuse it as a bearer
    token, and ignore it as a header), holds no expiry, and a dead letter replayed with it runs
    as the original caller after that caller's token is long expired."""
    seen = Seen()
    service = doors_service(doors_gen, contract, seen)
    rules = {f"{RECORDS}/UpdateRecord": RULE, "Orders/onOrder": RULE, "http//emit": {}, "shop.jobs/*": {}}
    async with TestService(service, overrides=overrides(oidc, signing_key(tmp_path), rules)) as t:
        service.messaging.observers.append(seen.observe)
        token = oidc.mint(sub="ann", scope="records.write", roles=["owner"], exp=int(time.time()) + 60)
        await t.http.post("/emit", headers={"authorization": f"Bearer {token}"})
        (published,) = t.messages.published
        assertion = published.message.headers[PRINCIPAL_HEADER]
        claims = jwt.decode(assertion, options={"verify_signature": False})
        assert "exp" not in claims
        assert claims["origin"] == {
            "iss": oidc.issuer,
            "exp": jwt.decode(token, options={"verify_signature": False})["exp"],
        }
        method = doors_gen.RecordService.__microlib_service__.methods["UpdateRecord"]
        call = t.grpc.unary_unary(f"/{RECORDS}/UpdateRecord")
        payload = method.encode_request(method.request_type(id="r1"))
        codes = []
        for metadata in ((("authorization", f"Bearer {assertion}"),), ((PRINCIPAL_HEADER, assertion),)):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(payload, metadata=metadata)
            codes.append(refused.value.code())
        rest = await t.http.patch("/v1/records/r1", headers={PRINCIPAL_HEADER: assertion}, json={})
        assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 2
        assert rest.status_code == 401
        # A dead letter replayed long after the caller's token expired (in 1970, here): it ran
        # as the caller when it was sent, and still does.
        signer = service.component("security").security.signer  # type: ignore[attr-defined]
        expired = Principal(
            "ann",
            scopes=frozenset({"records.write"}),
            roles=frozenset({"owner"}),
            claims={"iss": oidc.issuer, "exp": 1},
        )
        replayed = raw(contract, {**published.message.headers, PRINCIPAL_HEADER: signer.sign(expired, BODY)})
        await service.messaging.broker.publish(contract.on_order, replayed)
        assert await message_outcome(t, seen, contract, replayed.message_id) == ("OK", "")
        assert seen.messages[replayed.message_id].subject == "ann"  # type: ignore[union-attr]


class Recorder:
    """An authorizer recording what it is asked; denies messages and jobs ``mallory`` sent."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []

    async def authorize(
        self, ctx: CallContext, principal: Principal, requirement: SecurityRequirement | None
    ) -> Decision:
        self.asked.append((ctx.kind, ctx.full_method, principal.subject))
        allowed = ctx.kind == "http" or principal.subject != "mallory"
        return Decision(allowed, "not mallory", "POLICY_DENIED")


async def test_authorizers_decide_message_and_job_doors_with_the_originator(
    oidc: OidcIssuer, doors_gen: ModuleType, contract: Orders, tmp_path: Path
) -> None:
    """Custom authorizers (and OPA, one of them) run on the message and job doors with the
    principal that sent the message or job, and their denial dead-letters it."""
    seen = Seen()
    recorder = Recorder()
    service = doors_service(doors_gen, contract, seen, authorizers=[recorder])
    rules = {"Orders/onOrder": {}, "shop.jobs/send_receipt": {}, "http//emit": {}}
    outcomes = []
    async with TestService(service, overrides=overrides(oidc, signing_key(tmp_path), rules)) as t:
        service.messaging.observers.append(seen.observe)
        for subject in ("alice", "mallory"):
            token = oidc.mint(sub=subject)
            sent = (await t.http.post("/emit", headers={"authorization": f"Bearer {token}"})).json()
            outcomes.append(await message_outcome(t, seen, contract, sent["message_id"]))
            outcomes.append(await job_outcome(t, seen, sent["job_id"]))
    assert outcomes == [("OK", ""), ("OK", "")] + [("PERMISSION_DENIED", "POLICY_DENIED")] * 2
    assert [a for a in recorder.asked if a[0] != "http"] == [
        ("message", "Orders/onOrder", "alice"),
        ("job", "shop.jobs/send_receipt", "alice"),
        ("message", "Orders/onOrder", "mallory"),
        ("job", "shop.jobs/send_receipt", "mallory"),
    ]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("signing_key_file={key}.missing", "cannot read"),
        ("signing_key_file={cert}", "holds no PEM private key"),
        ('trusted=[{{"issuer": "microlib:x"}}]', "set exactly one of"),
        (
            'trusted=[{{"issuer": "microlib:x", "keys": [{{"kty": "OKP"}}], "algorithms": ["none"]}}]',
            "never accepted",
        ),
    ],
)
def test_bad_propagation_settings_name_the_key(tmp_path: Path, setting: str, message: str) -> None:
    """A signing key that cannot be read or is no private key, or a trusted signer without one
    key source, fails the configuration naming security.propagation."""
    key = signing_key(tmp_path)
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    service = Service("records")
    install(service)
    with pytest.raises(ConfigError, match=r"security\.propagation") as failed:
        service.configure(
            overrides=[f"security.propagation.{setting.format(key=key, cert=cert)}"], environ={}
        )
    assert message in str(failed.value)


def test_signer_refuses_nothing_it_cannot_sign(tmp_path: Path) -> None:
    """Ed25519, P-256 and RSA keys sign with EdDSA, ES256 and RS256; its JWK verifies its assertions."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    keys: list[tuple[Any, str]] = [
        (ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
    ]
    for private, algorithm in keys:
        pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        signer = PrincipalSigner("microlib:x", pem, key_id="k", identity=Principal("x"), ttl=60)
        token = signer.sign(None, b"body")
        public = jwt.PyJWK(signer.public_jwk())
        claims = jwt.decode(token, public.key, algorithms=[algorithm], audience="microlib:principal")
        assert (signer.algorithm, claims["sub"], claims["exp"] - claims["iat"]) == (algorithm, "x", 60)


def test_policy_input_of_a_message_holds_its_body_and_hides_the_assertion(contract: Orders) -> None:
    """With include_request, OPA sees a message's JSON body (before the handler decodes it),
    None for a body that is not JSON; the signed principal is never in its metadata."""
    from microlib.security.opa import policy_input

    principal = Principal("ann")
    documents = []
    for body in (b'{"order_id": "o-1"}', b"\x00binary"):
        ctx = CallContext(
            "message",
            "Orders",
            "onOrder",
            {PRINCIPAL_HEADER: "signed", "x-tenant": "acme"},
            request=body,
            attributes={"microlib.method": contract.on_order},
        )
        document = policy_input(ctx, principal, None, include_request=True)
        documents.append((document["kind"], document["request"], document["metadata"]))
    assert documents == [
        ("message", {"order_id": "o-1"}, {"x-tenant": "acme"}),
        ("message", None, {"x-tenant": "acme"}),
    ]


OWN_WORK = """
package doors

import rego.v1

default allow := false

allow if input.kind == "http"

# A message or job about an order runs only for the caller the order is named after.
allow if {
    input.kind in {"message", "job"}
    input.request.order_id == input.principal.subject
}
"""


async def test_an_opa_policy_decides_messages_and_jobs_on_their_payload(
    oidc: OidcIssuer, doors_gen: ModuleType, contract: Orders, tmp_path: Path
) -> None:
    """OPA sees the message door and the job door (kind, the sender as principal, the payload as
    request with include_request) and its denial dead-letters the message or job."""
    seen = Seen()
    service = doors_service(doors_gen, contract, seen)
    policy = tmp_path / "doors.rego"
    policy.write_text(OWN_WORK)
    opa = {"policy_files": [str(policy)], "query": "data.doors.allow", "include_request": True}
    rules = {"Orders/onOrder": {}, "shop.jobs/send_receipt": {}, "http//emit": {}}
    settings = [*overrides(oidc, signing_key(tmp_path), rules), f"security.opa={json.dumps(opa)}"]
    outcomes = []
    async with TestService(service, overrides=settings) as t:
        service.messaging.observers.append(seen.observe)
        for subject in ("o-1", "mallory"):  # /emit sends order o-1
            sent = await t.http.post("/emit", headers={"authorization": f"Bearer {oidc.mint(sub=subject)}"})
            ids = sent.json()
            outcomes.append(await message_outcome(t, seen, contract, ids["message_id"]))
            outcomes.append(await job_outcome(t, seen, ids["job_id"]))
    denied = ("PERMISSION_DENIED", "POLICY_DENIED")
    assert outcomes == [("OK", ""), ("OK", ""), denied, denied]


async def test_a_rotated_key_still_verifies_what_it_signed(
    oidc: OidcIssuer, doors_gen: ModuleType, contract: Orders, tmp_path: Path
) -> None:
    """Listing the service's own issuer under ``trusted`` with its old and new keys accepts dead
    letters signed before the rotation and messages signed after it; an entry with the old key
    alone replaces the automatic trust in the current one (as docs/security.md warns)."""
    old_key = signing_key(tmp_path, "old.pem")
    old = PrincipalSigner(
        "microlib:records", old_key.read_bytes(), key_id="old", identity=Principal("records")
    )
    new_key = signing_key(tmp_path, "new.pem")
    new = PrincipalSigner(
        "microlib:records", new_key.read_bytes(), key_id="new", identity=Principal("records")
    )
    caller = Principal("ann")
    outcomes = {}
    for trusted_keys in ([old.public_jwk(), new.public_jwk()], [old.public_jwk()]):
        seen = Seen()
        service = doors_service(doors_gen, contract, seen)
        trusted = [{"issuer": "microlib:records", "keys": trusted_keys}]
        settings = [
            *overrides(oidc, new_key, {"Orders/onOrder": {}}),
            "security.propagation.key_id=new",
            f"security.propagation.trusted={json.dumps(trusted)}",
        ]
        async with TestService(service, overrides=settings) as t:
            service.messaging.observers.append(seen.observe)
            for name, signer in (("old", old), ("new", new)):
                message = raw(contract, {PRINCIPAL_HEADER: signer.sign(caller, BODY)})
                await service.messaging.broker.publish(contract.on_order, message)
                outcomes[(len(trusted_keys), name)] = await message_outcome(
                    t, seen, contract, message.message_id
                )
    assert outcomes == {
        (2, "old"): ("OK", ""),
        (2, "new"): ("OK", ""),
        (1, "old"): ("OK", ""),
        (1, "new"): ("UNAUTHENTICATED", "UNKNOWN_KEY"),
    }


async def test_nothing_is_signed_while_security_is_disabled(
    oidc: OidcIssuer, doors_gen: ModuleType, contract: Orders, tmp_path: Path
) -> None:
    """With security.enabled false no message carries a principal, and consumers run unchecked."""
    seen = Seen()
    service = doors_service(doors_gen, contract, seen)
    settings = [*overrides(oidc, signing_key(tmp_path), {}), "security.enabled=false"]
    async with TestService(service, overrides=settings) as t:
        service.messaging.observers.append(seen.observe)
        sent = (await t.http.post("/emit")).json()
        assert await message_outcome(t, seen, contract, sent["message_id"]) == ("OK", "")
        assert await job_outcome(t, seen, sent["job_id"]) == ("OK", "")
        (published,) = t.messages.published
        assert PRINCIPAL_HEADER not in published.message.headers
