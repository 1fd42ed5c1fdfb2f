"""The JWKS key source: caching, rotation under traffic, refresh limits, outages."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from microlib.core.context import CallKind
from microlib.core.errors import Unauthenticated, Unavailable
from microlib.security.jwks import JwksKeySource
from microlib.security.jwt import Issuer, TokenVerifier
from microlib.security.oidc import jwks_locator
from microlib.security.setup import Security

from .conftest import OidcIssuer, rsa_key
from .helpers import KINDS, call, settings_for


def verifier_for(oidc: OidcIssuer, source: JwksKeySource) -> TokenVerifier:
    """A verifier for the fixture issuer without the verified-token cache."""
    return TokenVerifier([Issuer(oidc.issuer, source, [oidc.audience])], cache_size=0)


async def test_rotation_during_steady_traffic(oidc: OidcIssuer) -> None:
    """The issuer starts signing with a new key mid-traffic: no call fails, one refresh serves all."""
    source = JwksKeySource(oidc.jwks_url, min_refresh_interval=3600)
    verifier = verifier_for(oidc, source)
    await source.start()
    current = {"key": oidc.keys[0]}
    failures: list[Exception] = []
    calls = 0
    stop = asyncio.Event()

    async def client() -> None:
        nonlocal calls
        while not stop.is_set():
            try:
                await verifier.verify(oidc.mint(current["key"], jti=f"{time.monotonic_ns()}"))
                calls += 1
            except Exception as exc:
                failures.append(exc)
            await asyncio.sleep(0)

    workers = [asyncio.create_task(client()) for _ in range(8)]
    await _wait(lambda: calls >= 50)
    new = rsa_key("rsa-2")
    oidc.keys.append(new)  # published first, as issuers do
    current["key"] = new
    before = calls
    await _wait(lambda: calls >= before + 100)
    oidc.keys.pop(0)  # the old key retires later
    stop.set()
    await asyncio.gather(*workers)
    await source.stop()
    assert failures == []
    assert oidc.jwks_hits == 2


async def test_concurrent_unknown_kid_single_flight(oidc: OidcIssuer) -> None:
    """Many calls meeting a new kid at once share a single JWKS fetch."""
    source = JwksKeySource(oidc.jwks_url, min_refresh_interval=0)
    await source.start()
    new = rsa_key("rsa-new")
    oidc.keys.append(new)
    keys = await asyncio.gather(*(source.key_for("rsa-new") for _ in range(20)))
    await source.stop()
    assert {k.kid for k in keys} == {"rsa-new"}
    assert oidc.jwks_hits == 2


async def test_ttl_refresh_in_background_keeps_serving(oidc: OidcIssuer) -> None:
    """Past the TTL the cached keys keep serving while a background refresh runs."""
    source = JwksKeySource(oidc.jwks_url, cache_ttl=0.01)
    await source.start()
    await asyncio.sleep(0.05)
    key = await source.key_for("rsa-1")
    assert key.kid == "rsa-1"
    await _wait(lambda: oidc.jwks_hits == 2)
    await source.stop()


async def test_outage_serves_stale_keys(oidc: OidcIssuer) -> None:
    """When the JWKS endpoint fails, known keys keep working and the check still passes."""
    source = JwksKeySource(oidc.jwks_url, cache_ttl=0.01, min_refresh_interval=0)
    verifier = verifier_for(oidc, source)
    await source.start()
    oidc.failing = True
    await asyncio.sleep(0.05)
    principal = await verifier.verify(oidc.mint())
    assert principal.subject == "user-1"
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(oidc.mint(rsa_key("unpublished")))
    assert caught.value.reason == "UNKNOWN_KEY"
    assert await source.check() is not None
    await source.stop()


async def test_no_keys_ever_is_unavailable(oidc: OidcIssuer) -> None:
    """If keys were never loaded, a call gets UNAVAILABLE (503), not a 500; health fails."""
    oidc.failing = True
    source = JwksKeySource(oidc.jwks_url)
    await source.start()
    with pytest.raises(Unavailable) as caught:
        await verifier_for(oidc, source).verify(oidc.mint())
    assert caught.value.reason == "JWKS_UNAVAILABLE"
    with pytest.raises(Unavailable):
        await source.check()
    await source.stop()


async def test_outage_does_not_hammer_the_issuer(oidc: OidcIssuer) -> None:
    """While the JWKS endpoint is down, calls fail fast instead of each triggering a fetch."""
    oidc.failing = True
    source = JwksKeySource(oidc.jwks_url, min_refresh_interval=30)
    await source.start()
    verifier = verifier_for(oidc, source)
    for _ in range(20):
        with pytest.raises(Unavailable):
            await verifier.verify(oidc.mint())
    assert oidc.jwks_hits == 1
    await source.stop()


async def test_ttl_refresh_failure_backs_off(oidc: OidcIssuer) -> None:
    """A failed background refresh is not retried on every call; stale keys keep serving."""
    source = JwksKeySource(oidc.jwks_url, cache_ttl=0.01, min_refresh_interval=30)
    await source.start()
    oidc.failing = True
    await asyncio.sleep(0.05)
    await source.key_for("rsa-1")
    await _wait(lambda: oidc.jwks_hits == 2)
    await asyncio.sleep(0.05)
    for _ in range(20):
        assert (await source.key_for("rsa-1")).kid == "rsa-1"
        await asyncio.sleep(0)
    assert oidc.jwks_hits == 2
    await source.stop()


async def test_discovery_must_name_the_configured_issuer(oidc: OidcIssuer) -> None:
    """A discovery document naming another issuer is refused."""
    oidc.extra["issuer"] = "https://impostor.example"
    source = JwksKeySource(jwks_locator(oidc.discovery_url, issuer=oidc.issuer))
    with pytest.raises(Unavailable) as caught:
        await source.refresh()
    assert "impostor" in caught.value.message
    await source.stop()


async def test_shared_client_is_not_closed(oidc: OidcIssuer) -> None:
    """A client passed in stays open after stop."""
    async with httpx.AsyncClient() as client:
        source = JwksKeySource(oidc.jwks_url, client=client)
        await source.start()
        await source.stop()
        assert not client.is_closed


async def _wait(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_rotation_through_the_chain_on_both_kinds(oidc: OidcIssuer) -> None:
    """Rotation under HTTP- and gRPC-kind calls through authn/authz: no call fails."""
    security = Security.from_settings(
        settings_for(
            {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]},
            verify_cache_size=0,
        )
    )
    for component in security.components:
        await component.start()
    signing = {"key": oidc.keys[0]}
    outcomes: list[str] = []
    stop = asyncio.Event()

    async def client(kind: CallKind) -> None:
        while not stop.is_set():
            try:
                _, principal = await call(security, kind=kind, token=oidc.mint(signing["key"]))
                outcomes.append("ok" if principal is not None else "no principal")
            except Exception as exc:
                outcomes.append(repr(exc))
            await asyncio.sleep(0)

    workers = [asyncio.create_task(client(kind)) for kind in KINDS for _ in range(3)]
    await _wait(lambda: len(outcomes) >= 30)
    oidc.keys.append(rsa_key("rsa-rotated"))
    signing["key"] = oidc.keys[-1]
    seen = len(outcomes)
    await _wait(lambda: len(outcomes) >= seen + 60)
    stop.set()
    await asyncio.gather(*workers)
    for component in security.components:
        await component.stop()
    assert set(outcomes) == {"ok"}
    assert oidc.jwks_hits == 2
