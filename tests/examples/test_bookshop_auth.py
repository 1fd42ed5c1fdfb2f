"""The bookshop example with authentication turned on by configuration alone (``auth.yaml``).

Every case runs on each door that reaches the method: gRPC, its transcoded REST route, and the
OpenAPI-first orders API and the log-level endpoint over HTTP.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from examples.bookshop import devauth
from examples.bookshop.gen.bookshop.v1 import Book, BookshopServiceClient, CreateBookRequest, GetBookRequest
from examples.bookshop.main import create_service
from microlib.core.errors import Error
from microlib.service import Service
from microlib.testing import TestService
from tests.docs._blocks import ROOT, Block, blocks

AUTH_YAML = ROOT / "examples" / "bookshop" / "auth.yaml"


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A development key pair in ./.dev-auth, where auth.yaml looks for it (as after `devauth init`)."""
    monkeypatch.chdir(tmp_path)
    devauth.init()


# microlib's pytest plugin starts the example for each test, configured with auth.yaml.
pytestmark = pytest.mark.microlib(files=[AUTH_YAML])


@pytest.fixture
def microlib_service(keys: None) -> Service:
    """A new bookshop, built once the development keys exist (auth.yaml reads them)."""
    return create_service()


@pytest.fixture
def shop(running_service: TestService) -> TestService:
    """The example, started with auth.yaml."""
    return running_service


def bearer(**kwargs: object) -> dict[str, str]:
    """The Authorization header of a development token."""
    return {"authorization": f"Bearer {devauth.token(**kwargs)}"}  # type: ignore[arg-type]


async def create_over_grpc(t: TestService, headers: dict[str, str]) -> str:
    """CreateBook over gRPC: the gRPC status name, OK on success."""
    client = BookshopServiceClient(t.grpc, metadata=list(headers.items()))
    request = CreateBookRequest(shelf="poetry", book=Book(title="Ariel", author="Sylvia Plath"))
    try:
        await client.create_book(request)
    except Error as exc:
        return exc.code.name
    return "OK"


async def create_over_rest(t: TestService, headers: dict[str, str]) -> int:
    """CreateBook over its REST binding: the HTTP status."""
    body = {"title": "Ariel", "author": "Sylvia Plath"}
    return (await t.http.post("/v1/shelves/poetry/books", json=body, headers=headers)).status_code


async def test_reading_stays_public_on_both_doors(shop: TestService) -> None:
    """GetBook is listed in public_methods: no token needed over gRPC or REST."""
    book = await BookshopServiceClient(shop.grpc).get_book(GetBookRequest(id="1"))
    assert book.title == "Dune"
    assert (await shop.http.get("/v1/books/1")).status_code == 200


@pytest.mark.parametrize(
    ("roles", "grpc_status", "http_status"),
    [
        (None, "UNAUTHENTICATED", 401),
        ((), "PERMISSION_DENIED", 403),
        (("customer",), "PERMISSION_DENIED", 403),
        (("editor",), "OK", 200),
    ],
)
async def test_creating_a_book_needs_the_editor_role_on_both_doors(
    shop: TestService, roles: tuple[str, ...] | None, grpc_status: str, http_status: int
) -> None:
    """The config rule on CreateBook decides alike over gRPC and over its REST binding."""
    headers = {} if roles is None else bearer(roles=roles)
    assert await create_over_grpc(shop, headers) == grpc_status
    assert await create_over_rest(shop, headers) == http_status


@pytest.mark.parametrize("attack", sorted(devauth.ATTACKS))
async def test_every_attack_token_is_refused_on_both_doors(shop: TestService, attack: str) -> None:
    """Each attack token (alg none, key confusion, forged payload, wrong audience...) is a 401 with
    an invalid_token challenge over REST, UNAUTHENTICATED over gRPC, even with the role it claims."""
    headers = bearer(roles=["editor"], attack=attack)
    assert await create_over_grpc(shop, headers) == "UNAUTHENTICATED"
    response = await shop.http.post(
        "/v1/shelves/poetry/books", json={"title": "Ariel", "author": "Sylvia Plath"}, headers=headers
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["reason"] not in ("", None)


async def test_the_documents_are_public_and_nothing_else_unlisted(shop: TestService) -> None:
    """auth.yaml lists both APIs' documents and pages in public_paths: they answer without a token
    (they run the chain like any route); the orders API itself does not."""
    for path in (
        "/rest/openapi.json",
        "/rest/openapi.yaml",
        "/api/openapi.json",
        "/api/openapi.yaml",
        "/api/docs",
    ):
        assert (await shop.http.get(path)).status_code == 200, path
    assert (await shop.http.get("/api/orders")).status_code == 401


async def test_orders_api_needs_the_customer_role(shop: TestService) -> None:
    """The OpenAPI-first orders API takes its rule from config (service "Bookshop orders")."""
    assert (await shop.http.get("/api/orders")).status_code == 401
    assert (await shop.http.get("/api/orders", headers=bearer(roles=["editor"]))).status_code == 403
    assert (await shop.http.get("/api/orders", headers=bearer(roles=["customer"]))).status_code == 200


async def test_log_levels_change_only_for_admins(shop: TestService) -> None:
    """The log-level endpoint on the public port goes through the same rules: admin only."""
    change = {"levels": {"microlib.http": "DEBUG"}}
    assert (await shop.http.put("/admin/loggers", json=change)).status_code == 401
    assert (
        await shop.http.put("/admin/loggers", json=change, headers=bearer(roles=["editor"]))
    ).status_code == 403
    done = await shop.http.put("/admin/loggers", json=change, headers=bearer(subject="ops", roles=["admin"]))
    assert done.status_code == 200
    assert done.json()["levels"]["microlib.http"] == "DEBUG"
    changed = [e for e in shop.logs if e.get("event") == "log levels changed"]
    assert changed
    assert changed[-1]["subject"] == "ops"


async def test_missing_key_set_is_a_config_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `devauth init`, starting with auth.yaml names security.issuers[0].jwks_file and the file."""
    from microlib.config import ConfigError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as failed:
        create_service().configure(files=[AUTH_YAML])
    message = str(failed.value)
    assert "security.issuers[0].jwks_file" in message
    assert ".dev-auth/jwks.json" in message
    assert "auth.yaml" in message


async def test_an_order_is_confirmed_as_the_customer_who_placed_it(shop: TestService) -> None:
    """The confirmation job an order enqueues carries its customer's principal, signed by the
    service (security.propagation), and runs under its rule (role customer); nothing is
    dead-lettered. The scheduled report runs as the service's identity (role scheduler)."""
    order = await shop.http.post(
        "/api/orders",
        json={"customer": "ann@example.com", "lines": [{"book_id": "1", "quantity": 1}]},
        headers=bearer(subject="ann", roles=["customer"]),
    )
    assert order.status_code == 201, order.text
    await shop.jobs.run_until_idle()
    enqueue = importlib.import_module("examples.bookshop.gen.jobs.jobs").BookshopJobsEnqueuer
    await enqueue(shop.service.jobs).restock_report(
        importlib.import_module("examples.bookshop.gen.jobs.models").RestockReportPayload()
    )
    await shop.jobs.run_until_idle()
    assert await shop.jobs.dead_letters() == []
    confirmed = [e for e in shop.logs if e["event"] == "order confirmed"]
    assert [(e["order_id"], e["placed_by"]) for e in confirmed] == [(order.json()["id"], "ann")]
    assert len(shop.logged("restock report")) == 1


def documented(doc: Path) -> tuple[Block, Block]:
    """The page's two shell blocks this test checks: starting the example, and the calls to it."""
    name = test_the_documented_attack_cases_answer_as_documented.__name__
    start, calls = [b for b in blocks(doc, "sh") if b.directive == "checked by" and b.reason.endswith(name)]
    return start, calls


def statuses(calls: Block) -> list[str]:
    """The status each call is documented to answer, in order (`# 401 each` once per loop turn)."""
    body = calls.body.replace("\\\n", " ")
    turns = re.search(r"^\s*for \w+ in (.*?); do", body, re.MULTILINE)
    found = []
    for status, each in re.findall(r"#\s*(\d{3})\b(\s+each)?", body):
        found += [status] * (len(turns[1].split()) if each and turns else 1)
    return found


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def here(command: str, port: int) -> str:
    """A documented command as it runs here: this interpreter, the example on ``port``."""
    return (
        command.replace(".venv/bin/python", shlex.quote(sys.executable))
        .replace(".venv/bin/microlib", f"{shlex.quote(sys.executable)} -m microlib.cli")
        .replace("localhost:8080", f"127.0.0.1:{port}")
    )


# Each call prints its status alone, whatever output options the page gives it.
STATUS_ONLY = "curl() { command curl \"$@\" -s -o /dev/null -w '%{http_code}\\n'; }\n"


@pytest.mark.parametrize("doc", ["docs/security.md", "README.md"])
def test_the_documented_attack_cases_answer_as_documented(doc: str, tmp_path: Path) -> None:
    """The page's commands, run as a reader runs them (from a checkout, the example started with
    auth.yaml, the calls from another shell): every call answers the status its comment gives, and
    no level changed for the calls refused."""
    start, calls = documented(ROOT / doc)
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the checkout's relative paths
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    http, grpc = free_port(), free_port()
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed below, after the process)
    server: subprocess.Popen[str] | None = None
    try:
        for command in start.commands:
            if "microlib run" not in command:
                subprocess.run(here(command, http), shell=True, cwd=tmp_path, env=env, check=True)
                continue
            ports = [
                "--set",
                "http.host=127.0.0.1",
                "--set",
                f"http.port={http}",
                "--set",
                f"grpc.port={grpc}",
            ]
            argv = [*shlex.split(here(command.split(" #")[0], http)), *ports]
            server = subprocess.Popen(
                argv, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
            )
        assert server is not None, f"{doc}: the first block starts no service"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the example stopped"
            assert time.monotonic() < deadline, "the example did not become ready"
            try:
                if httpx.get(f"http://127.0.0.1:{http}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        ran = subprocess.run(
            ["bash", "-eu", "-c", STATUS_ONLY + here(calls.body, http)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        log.seek(0)
        output = log.read()
        log.close()
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == statuses(calls), f"{calls.where}: {ran.stderr}"
    assert "log levels changed" not in output
