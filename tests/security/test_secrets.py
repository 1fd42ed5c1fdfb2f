"""Secret stores (env, files), the TTL cache, rotation and the config resolver."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr
from structlog.testing import capture_logs

from microlib.config import load_config
from microlib.config.errors import ConfigError
from microlib.config.model import SecretsSettings
from microlib.core.errors import InvalidArgument, NotFound
from microlib.observability.prometheus import PrometheusMetrics
from microlib.security.references import register, resolve_reference
from microlib.security.secrets import EnvSecretStore, FileSecretStore, Secrets
from microlib.service import Service
from microlib.testing import TestService

VALUE = "s3cr3t-value-xyz"


def rewrite(path: Path, text: str | None) -> None:
    """Rotate (or, with None, remove) a mounted secret file."""
    if text is None:
        path.unlink()
    else:
        path.write_text(text)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A mounted secret file, Kubernetes style (trailing newline)."""
    path = tmp_path / "db_password"
    path.write_text(VALUE + "\n")
    return path


class TestStores:
    def test_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """env:NAME reads the variable."""
        monkeypatch.setenv("MICROLIB_TEST_SECRET", VALUE)
        assert EnvSecretStore().read("MICROLIB_TEST_SECRET") == VALUE

    def test_env_missing(self) -> None:
        """A missing variable is NotFound naming it."""
        with pytest.raises(NotFound, match="MICROLIB_TEST_ABSENT"):
            EnvSecretStore().read("MICROLIB_TEST_ABSENT")

    def test_file_strips_one_newline(self, secret_file: Path) -> None:
        """file:/path reads the file without its trailing newline."""
        assert FileSecretStore().read(str(secret_file)) == VALUE

    def test_file_json_key_and_relative_root(self, tmp_path: Path) -> None:
        """file:name#key reads a key of a JSON file under the root."""
        (tmp_path / "db.json").write_text('{"password": "p", "user": "u"}')
        assert FileSecretStore(str(tmp_path)).read("db.json#user") == "u"
        with pytest.raises(NotFound, match="no key 'nope'"):
            FileSecretStore(str(tmp_path)).read("db.json#nope")

    def test_file_key_of_a_file_that_is_not_json(self, tmp_path: Path) -> None:
        """file:name#key on a plain-text file says the file is not JSON, naming it and the reference,
        never quoting its content; a JSON array or a non-UTF-8 file is told apart the same way."""
        (tmp_path / "db_password").write_text("plain-s3cr3t\n")
        with pytest.raises(NotFound) as caught:
            FileSecretStore(str(tmp_path)).read("db_password#password")
        message = str(caught.value)
        assert f"the file {tmp_path / 'db_password'} is not JSON" in message
        assert "secret file:db_password#password" in message
        assert "plain-s3cr3t" not in message
        (tmp_path / "list.json").write_text('["plain-s3cr3t"]')
        with pytest.raises(NotFound, match="is JSON but not an object, so it has no key 'password'"):
            FileSecretStore(str(tmp_path)).read("list.json#password")
        (tmp_path / "keystore").write_bytes(b"\xff\xfe\x00binary")
        with pytest.raises(NotFound, match="is not UTF-8 text"):
            FileSecretStore(str(tmp_path)).read("keystore")

    def test_file_missing(self, tmp_path: Path) -> None:
        """A missing file is NotFound naming the path."""
        with pytest.raises(NotFound, match="absent"):
            FileSecretStore().read(str(tmp_path / "absent"))


class TestSecrets:
    async def test_value_is_masked(self, secret_file: Path) -> None:
        """Values come back as SecretStr: repr and str never show them."""
        secrets = Secrets([FileSecretStore()])
        value = await secrets.get(f"file:{secret_file}")
        assert value.get_secret_value() == VALUE
        assert VALUE not in repr(value)
        assert VALUE not in str(value)

    async def test_cached_within_ttl(self, secret_file: Path) -> None:
        """Within the TTL the cached value is served without reading the store."""
        secrets = Secrets([FileSecretStore()], cache_ttl=3600)
        await secrets.get(f"file:{secret_file}")
        rewrite(secret_file, "rotated")
        assert (await secrets.get(f"file:{secret_file}")).get_secret_value() == VALUE

    async def test_expired_cache_rereads(self, secret_file: Path) -> None:
        """With a zero TTL every get reads the store."""
        secrets = Secrets([FileSecretStore()], cache_ttl=0)
        await secrets.get(f"file:{secret_file}")
        rewrite(secret_file, "rotated")
        assert (await secrets.get(f"file:{secret_file}")).get_secret_value() == "rotated"

    async def test_rotation_notifies_subscribers(self, secret_file: Path) -> None:
        """refresh() detects a changed value and calls sync and async subscribers once."""
        secrets = Secrets([FileSecretStore()], cache_ttl=3600)
        reference = f"file:{secret_file}"
        seen: list[str] = []

        async def on_async(value: SecretStr) -> None:
            seen.append("async:" + value.get_secret_value())

        secrets.subscribe(reference, lambda value: seen.append("sync:" + value.get_secret_value()))
        secrets.subscribe(reference, on_async)
        await secrets.get(reference)
        assert await secrets.refresh() == []
        rewrite(secret_file, "n3w-v4lue\n")
        with capture_logs() as logs:
            assert await secrets.refresh() == [reference]
        assert seen == ["sync:n3w-v4lue", "async:n3w-v4lue"]
        assert (await secrets.get(reference)).get_secret_value() == "n3w-v4lue"
        assert "n3w-v4lue" not in repr(logs)
        assert VALUE not in repr(logs)

    async def test_store_outage_keeps_old_value(self, secret_file: Path) -> None:
        """A failing re-read keeps serving the last value and is logged without it."""
        secrets = Secrets([FileSecretStore()], cache_ttl=0)
        reference = f"file:{secret_file}"
        await secrets.get(reference)
        rewrite(secret_file, None)
        with capture_logs() as logs:
            assert await secrets.refresh() == []
        assert logs[0]["event"] == "secret_refresh_failed"
        assert VALUE not in repr(logs)

    async def test_expired_value_is_kept_until_the_store_recovers(self, secret_file: Path) -> None:
        """Past its TTL, a secret whose store fails keeps its last value (get and get_sync); the
        health check says degraded and names the reference, never the value; the stale gauge and
        the failure counter record it; the first successful read clears it."""
        metrics = PrometheusMetrics(process_metrics=False)
        secrets = Secrets([EnvSecretStore(), FileSecretStore()], cache_ttl=0)
        secrets.instrument(metrics)
        reference = f"file:{secret_file}"
        assert (await secrets.get(reference)).get_secret_value() == VALUE
        rewrite(secret_file, None)
        with capture_logs() as logs:
            assert (await secrets.get(reference)).get_secret_value() == VALUE
            assert secrets.get_sync(reference).get_secret_value() == VALUE
        health = await secrets.check()
        assert health is not None
        assert health["status"] == "degraded"
        assert list(health["stale"]) == [reference]
        assert health["stale"][reference].startswith("NotFound: ")
        assert VALUE not in repr(health) + repr(logs)
        sample = metrics.registry.get_sample_value
        assert sample("microlib_secrets_stale", {"store": "file"}) == 1
        assert sample("microlib_secrets_stale", {"store": "env"}) == 0
        assert sample("microlib_secret_read_failures_total", {"store": "file"}) == 2
        rewrite(secret_file, "rotated")
        assert (await secrets.get(reference)).get_secret_value() == "rotated"
        assert await secrets.check() == {"cached": 1, "stores": ["env", "file"]}
        assert sample("microlib_secrets_stale", {"store": "file"}) == 0

    async def test_never_read_secret_raises_the_store_error(self, tmp_path: Path) -> None:
        """With no last value to fall back on, a failing store's error reaches the caller; it counts
        as a failed read of that store, while a reference naming no configured store does not."""
        metrics = PrometheusMetrics(process_metrics=False)
        secrets = Secrets([FileSecretStore()], cache_ttl=0)
        secrets.instrument(metrics)
        with pytest.raises(NotFound, match=r"secret file:.*absent: No such file"):
            await secrets.get(f"file:{tmp_path / 'absent'}")
        with pytest.raises(InvalidArgument, match="no store for 'vault'"):
            await secrets.get("vault:kv/app#x")
        assert await secrets.check() == {"cached": 0, "stores": ["file"]}
        scrape = metrics.exposition()[0].decode()
        assert 'microlib_secret_read_failures_total{store="file"} 1.0' in scrape
        assert 'store="vault"' not in scrape

    async def test_refresh_of_a_subscribed_secret_never_read(self, tmp_path: Path) -> None:
        """A subscribed secret whose store fails before it was ever read is logged and skipped."""
        secrets = Secrets([FileSecretStore()])
        reference = f"file:{tmp_path / 'not-yet-mounted'}"
        secrets.subscribe(reference, lambda value: None)
        with capture_logs() as logs:
            assert await secrets.refresh() == []
        assert logs[0]["event"] == "secret_refresh_failed"
        assert logs[0]["serving_last_value"] is False
        assert await secrets.check() == {"cached": 0, "stores": ["file"]}

    async def test_background_refresh_component(self, secret_file: Path) -> None:
        """As a component, it polls and notifies until stopped."""
        secrets = Secrets([FileSecretStore()], refresh_interval=0.01)
        reference = f"file:{secret_file}"
        changed = []
        secrets.subscribe(reference, lambda value: changed.append(value))
        await secrets.get(reference)
        await secrets.start()
        rewrite(secret_file, "rotated")
        for _ in range(500):
            if changed:
                break
            await asyncio.sleep(0.01)
        await secrets.stop()
        assert changed[0].get_secret_value() == "rotated"
        assert await secrets.check() == {"cached": 1, "stores": ["file"]}

    async def test_unknown_scheme_and_malformed(self) -> None:
        """Errors name the reference and the configured schemes."""
        secrets = Secrets([EnvSecretStore()])
        with pytest.raises(InvalidArgument, match="no store for 'vault' \\(configured: env\\)"):
            await secrets.get("vault:kv/app#x")
        with pytest.raises(InvalidArgument, match="expected <scheme>:<name>"):
            await secrets.get("nonsense")

    def test_from_settings(self, secret_file: Path) -> None:
        """The secrets section builds env and file stores."""
        secrets = Secrets.from_settings(SecretsSettings(file_root=str(secret_file.parent)))
        assert secrets.get_sync("file:db_password").get_secret_value() == VALUE


class TestResolver:
    def test_env_and_file_references(self, monkeypatch: pytest.MonkeyPatch, secret_file: Path) -> None:
        """resolve_reference serves ${secret:env:...} and ${secret:file:...}."""
        monkeypatch.setenv("MICROLIB_TEST_RESOLVED", VALUE)
        assert resolve_reference("env:MICROLIB_TEST_RESOLVED") == VALUE
        assert resolve_reference(f"file:{secret_file}") == VALUE

    def test_error_never_contains_value(self, tmp_path: Path) -> None:
        """A bad key in a JSON secret is reported without the secret's content."""
        path = tmp_path / "creds.json"
        path.write_text('{"password": "' + VALUE + '"}')
        with pytest.raises(NotFound) as caught:
            resolve_reference(f"file:{path}#user")
        assert VALUE not in str(caught.value)


@pytest.fixture
def secret_resolver() -> Iterator[None]:
    """The secret resolver, registered for one test."""
    unregister = register()
    yield
    unregister()


@pytest.mark.usefixtures("secret_resolver")
class TestConfigInterpolation:
    def test_secret_reference_in_a_config_file(self, tmp_path: Path, secret_file: Path) -> None:
        """${secret:file:...} in a config file is resolved, and masked when the config is printed."""

        class Database(BaseModel):
            url: str
            password: str

        config = tmp_path / "config.yaml"
        config.write_text(f"db:\n  url: postgres://db\n  password: ${{secret:file:{secret_file}}}\n")
        loaded = load_config(sections={"db": Database}, files=[config], environ={})
        assert loaded.settings.db.password == VALUE  # type: ignore[attr-defined]
        rendered = loaded.render(masked=True)
        assert VALUE not in rendered
        assert "postgres://db" in rendered

    def test_unknown_secret_is_a_config_problem(self, tmp_path: Path) -> None:
        """A missing secret fails the load naming the reference, never a value."""

        class App(BaseModel):
            token: str

        config = tmp_path / "config.yaml"
        config.write_text("app:\n  token: ${secret:env:MICROLIB_TEST_NOT_SET}\n")
        with pytest.raises(ConfigError, match="MICROLIB_TEST_NOT_SET"):
            load_config(sections={"app": App}, files=[config], environ={})


class TestInService:
    async def test_stale_secret_shows_in_health_and_metrics(self, secret_file: Path) -> None:
        """Added to a Service, the secrets component gets the service's metrics: a stale secret is
        named in /health (still UP: its last value works) and counted on /metrics."""
        service = Service("orders")
        secrets = Secrets([FileSecretStore()], cache_ttl=0)
        service.add(secrets)
        reference = f"file:{secret_file}"
        async with TestService(service, overrides=["health.cache_ttl=0"]) as t:
            await secrets.get(reference)
            rewrite(secret_file, None)
            assert (await secrets.get(reference)).get_secret_value() == VALUE
            health = await t.http.get("/health")
            scrape = (await t.http.get("/metrics")).text
        component = health.json()["components"]["secrets"]
        assert component["status"] == "UP"
        assert component["details"]["status"] == "degraded"
        assert list(component["details"]["stale"]) == [reference]
        assert VALUE not in health.text
        assert 'microlib_secrets_stale{store="file"} 1.0' in scrape
        assert 'microlib_secret_read_failures_total{store="file"} 1.0' in scrape
