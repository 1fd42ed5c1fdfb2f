"""Secrets: the ``SecretStore`` protocol, built-in env and file stores, and the cache.

A secret is named by a reference ``<scheme>:<name>[#<key>]``::

    env:DB_PASSWORD                     an environment variable
    file:/var/run/secrets/db/password   a mounted file (Kubernetes secret)
    vault:kv/app#db_password            Vault KV v2: mount/path, key
    aws:prod/app#db_password            AWS Secrets Manager: name, JSON key

Values are returned as ``pydantic.SecretStr`` so that ``repr``, logs and
tracebacks show ``**********``; errors name the reference, never the value.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog
from pydantic import SecretStr

from microlib.config.model import SecretsSettings
from microlib.core.errors import Error, InvalidArgument, NotFound, Unavailable
from microlib.security._secret_keys import select_key

if TYPE_CHECKING:
    from microlib.observability.metrics import Counter, Gauge, Metrics

__all__ = [
    "EnvSecretStore",
    "FileSecretStore",
    "SecretStore",
    "Secrets",
    "Subscriber",
    "parse_reference",
]

log = structlog.get_logger("microlib.security")

Subscriber = Callable[[SecretStr], Awaitable[None] | None]
"""Called with the new value when a subscribed secret changes."""


@runtime_checkable
class SecretStore(Protocol):
    """A source of secret values for one reference scheme.

    ``read`` may block (network clients such as hvac and boto3 are
    synchronous); :class:`Secrets` calls it in a worker thread.
    """

    scheme: str

    def read(self, name: str) -> str:
        """The current value of ``name`` (the reference without its scheme).

        Raises:
            NotFound: No such secret or key.
            PermissionDenied: The store refuses access.
            Unavailable: The store cannot be reached.
        """
        ...


def parse_reference(reference: str) -> tuple[str, str]:
    """Split ``scheme:name`` into its parts.

    Raises:
        InvalidArgument: The reference has no scheme or no name.
    """
    scheme, sep, name = reference.partition(":")
    if not sep or not scheme or not name:
        raise InvalidArgument(f"secret reference {reference!r}: expected <scheme>:<name>[#<key>]")
    return scheme, name


class EnvSecretStore:
    """Secrets from environment variables (``env:NAME``)."""

    scheme = "env"

    def read(self, name: str) -> str:
        """The variable's value.

        Raises:
            NotFound: The variable is not set.
        """
        value = os.environ.get(name)
        if value is None:
            raise NotFound(f"secret env:{name}: the environment variable is not set")
        return value


class FileSecretStore:
    """Secrets from files, as Kubernetes mounts them (``file:/path[#key]``).

    One trailing newline is removed. A ``#key`` reads a JSON object file.

    Args:
        root: Directory that relative paths are resolved against.
    """

    scheme = "file"

    def __init__(self, root: str = "/") -> None:
        self._root = Path(root)

    def read(self, name: str) -> str:
        """The file's content.

        Raises:
            NotFound: The file does not exist or cannot be read; with
                ``#key``, it is not a JSON object or lacks the key.
        """
        path, _, key = name.partition("#")
        file = self._root / path
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise NotFound(f"secret file:{path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise NotFound(f"secret file:{name}: the file {file} is not UTF-8 text") from None
        return select_key(
            text.removesuffix("\n"), key or None, reference=f"file:{name}", source=f"the file {file}"
        )


class Secrets:
    """Reads references through the stores, caches values, detects rotation.

    As a lifecycle component it re-reads the subscribed secrets every
    ``refresh_interval`` seconds and notifies subscribers of changed values.

    When a store fails, a secret read before keeps its last value, as long
    as the store keeps failing: it is then *stale*, named in the health
    check's details and counted in ``microlib_secrets_stale``, and the store
    is tried again every ``refresh_interval`` (or ``cache_ttl`` when
    shorter) until a read succeeds. A secret never read raises the store's
    error.

    Args:
        stores: One store per scheme.
        cache_ttl: Seconds a value is served from the cache.
        refresh_interval: Seconds between rotation checks while running.
        name: The component name.
    """

    @classmethod
    def from_settings(cls, settings: SecretsSettings, *, name: str = "secrets") -> Secrets:
        """Build the env and file stores, plus Vault and AWS when configured.

        Raises:
            InvalidArgument: A configured store's client library is not installed.
        """
        stores: list[SecretStore] = [EnvSecretStore(), FileSecretStore(settings.file_root)]
        if settings.vault is not None:
            from microlib.security.vault import VaultSecretStore

            stores.append(VaultSecretStore.from_settings(settings.vault))
        if settings.aws is not None:
            from microlib.security.aws import AwsSecretStore

            stores.append(AwsSecretStore(region=settings.aws.region, endpoint_url=settings.aws.endpoint_url))
        return cls(
            stores, cache_ttl=settings.cache_ttl, refresh_interval=settings.refresh_interval, name=name
        )

    def __init__(
        self,
        stores: Iterable[SecretStore],
        *,
        cache_ttl: float = 300.0,
        refresh_interval: float = 60.0,
        name: str = "secrets",
    ) -> None:
        self.name = name
        self._stores = {store.scheme: store for store in stores}
        self._ttl = cache_ttl
        self._interval = refresh_interval
        self._cache: dict[str, tuple[float, SecretStr]] = {}
        self._subscribers: dict[str, list[Subscriber]] = {}
        self._reads: dict[str, asyncio.Task[SecretStr]] = {}
        self._task: asyncio.Task[None] | None = None
        # Reference -> why its last value is still served (never the value).
        self._stale: dict[str, str] = {}
        self._failures: Counter | None = None
        self._stale_gauge: Gauge | None = None

    def instrument(self, metrics: Metrics) -> None:
        """Record failed reads and stale secrets, by store, in ``metrics``.

        A service calls it with its registry when it is assembled.
        """
        self._failures = metrics.counter(
            "microlib_secret_read_failures", "Secret reads a store failed.", ("store",)
        )
        self._stale_gauge = metrics.gauge(
            "microlib_secrets_stale",
            "Secrets served from their last value while their store fails.",
            ("store",),
        )
        for store in self._stores:
            self._stale_gauge.labels(store).set(self._stale_count(store))

    async def get(self, reference: str) -> SecretStr:
        """The value of ``reference``, from the cache when fresh.

        When the store fails, the last value read is returned (see the class).

        Raises:
            InvalidArgument: Malformed reference or unknown scheme.
            NotFound, PermissionDenied, Unavailable: From the store, for a
                secret that was never read.
        """
        cached = self._fresh(reference)
        if cached is not None:
            return cached
        # Concurrent misses share one read, so a cold start does not send the
        # store one request per waiting caller.
        flight = self._reads.get(reference)
        if flight is None:
            flight = self._reads[reference] = asyncio.get_running_loop().create_task(self._load(reference))
            flight.add_done_callback(lambda done: self._settled(reference, done))
        return await asyncio.shield(flight)

    def _settled(self, reference: str, done: asyncio.Task[SecretStr]) -> None:
        self._reads.pop(reference, None)
        # Retrieve the outcome: every awaiter may have been cancelled meanwhile.
        if not done.cancelled():
            done.exception()

    async def _load(self, reference: str) -> SecretStr:
        try:
            text = await asyncio.to_thread(self._read, reference)
        except Exception as exc:
            return self._last_value(reference, exc)
        return self._remember(reference, text)

    def get_sync(self, reference: str) -> SecretStr:
        """As :meth:`get`, blocking; for config interpolation before the loop runs."""
        cached = self._fresh(reference)
        if cached is not None:
            return cached
        try:
            text = self._read(reference)
        except Exception as exc:
            return self._last_value(reference, exc)
        return self._remember(reference, text)

    def _remember(self, reference: str, text: str) -> SecretStr:
        value = SecretStr(text)
        self._cache[reference] = (time.monotonic() + self._ttl, value)
        if self._stale.pop(reference, None) is not None:
            log.info("secret_store_recovered", reference=reference)
            self._count_stale(reference)
        return value

    def _last_value(self, reference: str, exc: Exception) -> SecretStr:
        """The value read before ``exc``, now stale; re-raises ``exc`` when there is none."""
        store = reference.partition(":")[0]
        if self._failures is not None and store in self._stores:
            self._failures.labels(store).inc()
        last = self._cache.get(reference)
        log.warning(
            "secret_refresh_failed",
            reference=reference,
            error_type=type(exc).__name__,
            serving_last_value=last is not None,
        )
        if last is None:
            raise exc
        # Store errors name the reference, never a value (foreign ones are
        # reduced to their type by _read).
        self._stale[reference] = f"{type(exc).__name__}: {exc}"
        self._count_stale(reference)
        # Try the store again after a pause, not on every call while it is down.
        self._cache[reference] = (time.monotonic() + min(self._ttl, self._interval), last[1])
        return last[1]

    def _count_stale(self, reference: str) -> None:
        store = reference.partition(":")[0]
        if self._stale_gauge is not None:
            self._stale_gauge.labels(store).set(self._stale_count(store))

    def _stale_count(self, store: str) -> int:
        return sum(1 for reference in self._stale if reference.partition(":")[0] == store)

    def resolve_reference(self, reference: str) -> str:
        """The plain value, for the config ``${secret:<reference>}`` resolver."""
        return self.get_sync(reference).get_secret_value()

    def subscribe(self, reference: str, callback: Subscriber) -> None:
        """Call ``callback`` with the new value whenever ``reference`` rotates."""
        self._subscribers.setdefault(reference, []).append(callback)

    async def refresh(self) -> list[str]:
        """Re-read every cached or subscribed secret; notify changes.

        A store failure keeps the old value (stale, and logged), so an outage
        of the store does not take working credentials away.

        Returns:
            The references whose value changed.
        """
        changed: list[str] = []
        for reference in sorted(set(self._cache) | set(self._subscribers)):
            old = self._cache.get(reference)
            try:
                value = await self._load(reference)
            except Exception:  # never read, and the store fails: logged by _load
                continue
            if old is not None and old[1].get_secret_value() != value.get_secret_value():
                changed.append(reference)
                log.info("secret_rotated", reference=reference)
                for callback in self._subscribers.get(reference, ()):
                    result = callback(value)
                    if inspect.isawaitable(result):
                        await result
        return changed

    async def start(self) -> None:
        """Start the rotation checks."""
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        """Stop the rotation checks."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def check(self) -> Mapping[str, Any] | None:
        """The number of cached secrets; when some are stale, ``degraded`` and why, by reference.

        Stale secrets do not make the component down: their last value still
        works. Values are never shown.
        """
        details: dict[str, Any] = {"cached": len(self._cache), "stores": sorted(self._stores)}
        if self._stale:
            details["status"] = "degraded"
            details["stale"] = dict(sorted(self._stale.items()))
        return details

    def _fresh(self, reference: str) -> SecretStr | None:
        hit = self._cache.get(reference)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def _read(self, reference: str) -> str:
        scheme, name = parse_reference(reference)
        store = self._stores.get(scheme)
        if store is None:
            configured = ", ".join(sorted(self._stores))
            raise InvalidArgument(
                f"secret reference {reference!r}: no store for {scheme!r} (configured: {configured})"
            )
        try:
            return store.read(name)
        except Error:
            raise
        except Exception as exc:
            # Only the type: a foreign message might quote what it was parsing.
            raise Unavailable(
                f"secret {reference}: {type(exc).__name__}", reason="SECRET_STORE_ERROR"
            ) from None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.refresh()
