"""The Vault KV v2 store against a small KV v2 HTTP fake (real HTTP, real hvac)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from microlib.core.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from microlib.security.secrets import Secrets
from microlib.security.vault import VaultSecretStore

from .conftest import ThreadedServer

TOKEN = "root-token"


class FakeVault:
    """KV v2 engines: GET /v1/<mount>/data/<path>, token checked, versions kept."""

    def __init__(self) -> None:
        self.mounts: dict[str, dict[str, list[dict[str, Any]]]] = {"kv": {}}
        self.tokens = {TOKEN}
        self.reads = 0

    def put(self, mount: str, path: str, data: dict[str, Any]) -> None:
        """Write a new version."""
        self.mounts[mount].setdefault(path, []).append(data)

    async def read(self, request: Request) -> JSONResponse:
        """The KV v2 read endpoint."""
        self.reads += 1
        if request.headers.get("x-vault-token") not in self.tokens:
            return JSONResponse({"errors": ["permission denied"]}, status_code=403)
        engine = self.mounts.get(request.path_params["mount"])
        versions = None if engine is None else engine.get(request.path_params["path"])
        if not versions:
            return JSONResponse({"errors": []}, status_code=404)
        version = len(versions)
        return JSONResponse(
            {
                "request_id": "r",
                "data": {
                    "data": versions[-1],
                    "metadata": {"version": version, "deletion_time": "", "destroyed": False},
                },
            }
        )


@pytest.fixture(scope="module")
def vault() -> Iterator[tuple[FakeVault, str]]:
    """The fake, served in a thread (hvac is synchronous)."""
    fake = FakeVault()
    app = Starlette(routes=[Route("/v1/{mount}/data/{path:path}", fake.read)])
    with ThreadedServer(app) as url:
        yield fake, url


def test_read_key(vault: tuple[FakeVault, str]) -> None:
    """vault:kv/app#db_password reads one key of the latest version."""
    fake, url = vault
    fake.put("kv", "app", {"db_password": "pw1", "api_key": "k"})
    assert VaultSecretStore(url, token=TOKEN).read("kv/app#db_password") == "pw1"


def test_single_key_without_hash(vault: tuple[FakeVault, str]) -> None:
    """A one-key secret can be named without #key; a multi-key one cannot."""
    fake, url = vault
    fake.put("kv", "single", {"token": "t"})
    store = VaultSecretStore(url, token=TOKEN)
    assert store.read("kv/single") == "t"
    fake.put("kv", "multi", {"a": "1", "b": "2"})
    with pytest.raises(InvalidArgument, match="holds 2 keys"):
        store.read("kv/multi")


def test_errors(vault: tuple[FakeVault, str], tmp_path: Path) -> None:
    """Missing secret or key: NotFound; bad token: PermissionDenied; no mount/path: InvalidArgument."""
    fake, url = vault
    fake.put("kv", "app2", {"x": "1"})
    store = VaultSecretStore(url, token=TOKEN)
    with pytest.raises(NotFound):
        store.read("kv/absent#x")
    with pytest.raises(NotFound, match="no key 'y'"):
        store.read("kv/app2#y")
    with pytest.raises(PermissionDenied):
        VaultSecretStore(url, token="wrong").read("kv/app2#x")
    with pytest.raises(InvalidArgument):
        store.read("kv#x")


def test_vault_down() -> None:
    """An unreachable Vault is Unavailable."""
    with pytest.raises(Unavailable):
        VaultSecretStore("http://127.0.0.1:9", token=TOKEN, timeout=1).read("kv/app#x")


def test_token_file_is_reread(vault: tuple[FakeVault, str], tmp_path: Path) -> None:
    """A token file rotated by an agent is picked up on the next read."""
    fake, url = vault
    fake.put("kv", "tf", {"x": "1"})
    token_file = tmp_path / "token"
    token_file.write_text("old-token")
    store = VaultSecretStore(url, token_file=str(token_file))
    with pytest.raises(PermissionDenied):
        store.read("kv/tf#x")
    fake.tokens.add("new-token")
    token_file.write_text("new-token\n")
    assert store.read("kv/tf#x") == "1"


async def test_rotation_through_secrets(vault: tuple[FakeVault, str]) -> None:
    """A new KV version is detected by Secrets.refresh and sent to subscribers."""
    fake, url = vault
    fake.put("kv", "rot", {"password": "v1"})
    secrets = Secrets([VaultSecretStore(url, token=TOKEN)], cache_ttl=3600)
    seen: list[str] = []
    secrets.subscribe("vault:kv/rot#password", lambda value: seen.append(value.get_secret_value()))
    assert (await secrets.get("vault:kv/rot#password")).get_secret_value() == "v1"
    fake.put("kv", "rot", {"password": "v2"})
    assert await secrets.refresh() == ["vault:kv/rot#password"]
    assert seen == ["v2"]


async def test_concurrent_gets_share_one_read(vault: tuple[FakeVault, str]) -> None:
    """Many callers asking for the same uncached secret cause one Vault request."""
    fake, url = vault
    fake.put("kv", "herd", {"password": "p"})
    secrets = Secrets([VaultSecretStore(url, token=TOKEN)])
    before = fake.reads
    values = await asyncio.gather(*(secrets.get("vault:kv/herd#password") for _ in range(20)))
    assert {v.get_secret_value() for v in values} == {"p"}
    assert fake.reads == before + 1


async def test_refused_read_keeps_the_last_value_until_vault_answers(vault: tuple[FakeVault, str]) -> None:
    """When Vault refuses a re-read (token revoked), the expired secret keeps its last value and is
    reported stale with the reason; once Vault answers again the new version is served."""
    fake, url = vault
    fake.put("kv", "stale", {"password": "v1"})
    fake.tokens.add("agent-token")
    secrets = Secrets([VaultSecretStore(url, token="agent-token")], cache_ttl=0)
    reference = "vault:kv/stale#password"
    assert (await secrets.get(reference)).get_secret_value() == "v1"
    fake.tokens.discard("agent-token")
    assert (await secrets.get(reference)).get_secret_value() == "v1"
    health = await secrets.check()
    assert health is not None
    assert health["stale"][reference].startswith("PermissionDenied: ")
    assert "v1" not in repr(health)
    fake.tokens.add("agent-token")
    fake.put("kv", "stale", {"password": "v2"})
    assert (await secrets.get(reference)).get_secret_value() == "v2"
    assert "stale" not in (await secrets.check() or {})
