"""A JWKS key source that survives key rotation.

Keys are fetched with httpx and cached. When the cache is older than its TTL
it is refreshed in the background while the current keys keep serving. A
token signed with an unknown ``kid`` (the issuer has just rotated) triggers an
immediate refresh; those refreshes are single-flight (concurrent callers share
one fetch) and rate-limited (at most one per ``min_refresh_interval``), so a
flood of forged ``kid`` values cannot turn the service into a traffic
amplifier against the issuer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import structlog

from microlib.core.errors import Error, Unavailable
from microlib.security.keys import VerificationKey, lookup, parse_jwks

__all__ = ["JwksKeySource", "UrlSource"]

log = structlog.get_logger("microlib.security")

UrlSource = str | Callable[[httpx.AsyncClient], Awaitable[str]]


class JwksKeySource:
    """Keys from a JWKS URL (or the ``jwks_uri`` of an OIDC discovery document).

    It is a lifecycle component: ``start`` loads the keys so the first call
    does not pay for the fetch, ``check`` reports their age.

    Args:
        url: The JWKS URL, or a coroutine function that finds it
            (:func:`microlib.security.oidc.jwks_locator`).
        client: The HTTP client; one is created (and closed on ``stop``) if None.
        cache_ttl: Seconds before keys are refreshed in the background.
        min_refresh_interval: Least seconds between refreshes caused by
            unknown ``kid`` values.
        timeout: Seconds for each HTTP request.
        name: The component name.
    """

    def __init__(
        self,
        url: UrlSource,
        *,
        client: httpx.AsyncClient | None = None,
        cache_ttl: float = 300.0,
        min_refresh_interval: float = 30.0,
        timeout: float = 5.0,
        name: str = "jwks",
    ) -> None:
        self.name = name
        self._url = url
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._ttl = cache_ttl
        self._min_interval = min_refresh_interval
        self._keys: Mapping[str | None, VerificationKey] | None = None
        self._fetched_at = 0.0
        # After a failed fetch, no new one before this time: an issuer outage
        # must not turn every request into a fetch.
        self._retry_at = float("-inf")
        self._backoff = max(1.0, min(cache_ttl, min_refresh_interval))
        self._last_miss_refresh = float("-inf")
        self._flight: asyncio.Task[None] | None = None

    async def key_for(self, kid: str | None) -> VerificationKey:
        """The key with id ``kid``, refreshing once if it is unknown.

        Raises:
            Unauthenticated: ``UNKNOWN_KEY``.
            Unavailable: No keys could ever be loaded.
        """
        keys = self._keys
        now = time.monotonic()
        if keys is None:
            if now < self._retry_at and self._flight is None:
                raise Unavailable(f"{self.name}: signing keys are unavailable", reason="JWKS_UNAVAILABLE")
            await self._refresh()
            keys = self._current()
        elif now - self._fetched_at > self._ttl and now >= self._retry_at and self._flight is None:
            self._start_flight()
        if kid in keys or (kid is None and len(keys) == 1):
            return lookup(keys, kid)
        if now - self._last_miss_refresh >= self._min_interval or self._flight is not None:
            if self._flight is None:
                self._last_miss_refresh = now
            await self._refresh(keep_stale=True)
            keys = self._current()
        return lookup(keys, kid)

    async def refresh(self) -> None:
        """Fetch the key set now (single-flight with concurrent refreshes).

        Raises:
            Unavailable: The keys could not be fetched.
        """
        await self._refresh()

    async def start(self) -> None:
        """Load the keys; a failure is logged, not fatal (the issuer may come later)."""
        try:
            await self._refresh()
        except Error as exc:
            log.warning("jwks_initial_fetch_failed", source=self.name, error=exc.message)

    async def stop(self) -> None:
        """Cancel a pending fetch and close the owned HTTP client."""
        if self._flight is not None:
            self._flight.cancel()
        if self._owns_client:
            await self._client.aclose()

    async def check(self) -> Mapping[str, Any] | None:
        """The number of keys and their age.

        Raises:
            Unavailable: No keys are loaded.
        """
        if self._keys is None:
            raise Unavailable(f"{self.name}: no signing keys loaded yet")
        return {"keys": len(self._keys), "age_seconds": round(time.monotonic() - self._fetched_at, 1)}

    def _current(self) -> Mapping[str | None, VerificationKey]:
        if self._keys is None:
            raise Unavailable(f"{self.name}: signing keys are unavailable", reason="JWKS_UNAVAILABLE")
        return self._keys

    async def _refresh(self, *, keep_stale: bool = False) -> None:
        flight = self._flight or self._start_flight()
        try:
            # Shielded: a cancelled caller must not cancel the fetch others wait on.
            await asyncio.shield(flight)
        except Unavailable:
            if not keep_stale or self._keys is None:
                raise

    def _start_flight(self) -> asyncio.Task[None]:
        flight = self._flight = asyncio.get_running_loop().create_task(self._fetch())
        # A background refresh has no awaiter; its failure is already logged.
        flight.add_done_callback(lambda t: t.cancelled() or t.exception())
        return flight

    async def _fetch(self) -> None:
        try:
            url = self._url if isinstance(self._url, str) else await self._url(self._client)
            try:
                response = await self._client.get(url)
                response.raise_for_status()
                document = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise Unavailable(
                    f"JWKS {url}: {type(exc).__name__}: {exc}", reason="JWKS_UNAVAILABLE"
                ) from exc
            if not isinstance(document, dict):
                raise Unavailable(f"JWKS {url}: not a JSON object", reason="JWKS_UNAVAILABLE")
            keys = parse_jwks(document, origin=url)
            self._keys, self._fetched_at = keys, time.monotonic()
            log.info("jwks_loaded", source=self.name, keys=len(keys))
        except Error as exc:
            self._retry_at = time.monotonic() + self._backoff
            log.warning("jwks_fetch_failed", source=self.name, error=exc.message)
            raise Unavailable(exc.message, reason="JWKS_UNAVAILABLE") from exc
        finally:
            self._flight = None
