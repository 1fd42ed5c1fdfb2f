"""The log-level endpoint (``logging.admin``) is a management route: on the service's own port it
goes through the access rules like any route, it refuses to be served there unguarded, and every
change it makes is logged with who made it."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from microlib.config.errors import ConfigError
from microlib.http import ManagementServer
from microlib.security.feature import install
from microlib.service import Service
from microlib.testing import TestService

from .conftest import OidcIssuer

ADMIN_RULE = json.dumps({"http//admin/*": {"roles": ["admin"]}})


@pytest.fixture
def logger_name() -> Iterator[str]:
    """A logger of this test's own, back to NOTSET afterwards."""
    name = f"admintest.{uuid.uuid4().hex[:8]}"
    yield name
    logging.getLogger(name).setLevel(logging.NOTSET)


def guarded_service() -> Service:
    """A service with security installed and nothing else."""
    service = Service("ops")
    install(service)
    return service


def config(oidc: OidcIssuer, *extra: str) -> list[str]:
    """The fixture issuer and the admin endpoint on the service's own port."""
    issuer = {"issuer": oidc.issuer, "discovery_url": oidc.discovery_url, "audiences": [oidc.audience]}
    return [f"security.issuers={json.dumps([issuer])}", "logging.admin.enabled=true", *extra]


def changes(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit lines the endpoint wrote."""
    return [entry for entry in logs if entry["event"] == "log levels changed"]


def bearer(token: str) -> dict[str, str]:
    """The Authorization header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


async def test_unauthenticated_put_is_refused(oidc: OidcIssuer, logger_name: str) -> None:
    """Without a token, PUT /admin/loggers is 401 and changes nothing, even with a rule on /admin/*."""
    overrides = config(oidc, "security.deny_by_default=true", f"security.methods={ADMIN_RULE}")
    async with TestService(guarded_service(), overrides=overrides) as t:
        response = await t.http.put("/admin/loggers", json={"levels": {logger_name: "DEBUG"}})
        read = await t.http.get("/admin/loggers")
    assert (response.status_code, read.status_code) == (401, 401)
    assert logging.getLogger(logger_name).level == logging.NOTSET
    assert changes(t.logs) == []


async def test_authorized_put_is_applied_and_logged(oidc: OidcIssuer, logger_name: str) -> None:
    """A rule on /admin/* decides: without its role 403; with it the level changes, and one INFO line
    from microlib.admin names the subject, the peer and each level before and after."""
    overrides = config(oidc, "security.deny_by_default=true", f"security.methods={ADMIN_RULE}")
    async with TestService(guarded_service(), overrides=overrides) as t:
        body = {"levels": {logger_name: "DEBUG"}}
        forbidden = await t.http.put("/admin/loggers", json=body, headers=bearer(oidc.mint()))
        allowed = await t.http.put(
            "/admin/loggers", json=body, headers=bearer(oidc.mint(sub="ops-1", roles=["admin"]))
        )
    assert forbidden.status_code == 403
    assert allowed.status_code == 200
    assert allowed.json()["levels"][logger_name] == "DEBUG"
    assert logging.getLogger(logger_name).level == logging.DEBUG
    [line] = changes(t.logs)
    assert (line["logger"], line["level"], line["subject"]) == ("microlib.admin", "info", "ops-1")
    assert line["changes"] == {logger_name: "NOTSET -> DEBUG"}
    assert line["peer"] == "127.0.0.1:123"  # httpx's in-memory transport's client address


async def test_deny_by_default_without_a_rule_is_refused(oidc: OidcIssuer, logger_name: str) -> None:
    """With deny_by_default and no rule covering the endpoint, even an admin's PUT is 403 NO_ACCESS_RULE."""
    async with TestService(guarded_service(), overrides=config(oidc, "security.deny_by_default=true")) as t:
        response = await t.http.put(
            "/admin/loggers",
            json={"levels": {logger_name: "DEBUG"}},
            headers=bearer(oidc.mint(roles=["admin"])),
        )
    assert response.status_code == 403
    assert response.json()["reason"] == "NO_ACCESS_RULE"
    assert logging.getLogger(logger_name).level == logging.NOTSET


async def test_unguarded_public_port_refuses_to_start() -> None:
    """On the service's own port with no security installed, the service does not start: the error
    names logging.admin.enabled, where it was set, and both fixes."""
    with pytest.raises(ConfigError) as caught:
        async with TestService(Service("ops"), overrides=["logging.admin.enabled=true"]):
            pass
    [problem] = caught.value.problems
    assert (problem.path, problem.rule) == ("logging.admin.enabled", "unguarded_admin_endpoint")
    assert problem.source.startswith("--set logging.admin.enabled")
    assert "metrics.port" in problem.message
    assert "microlib.security.install" in problem.message


async def test_management_port_logs_the_peer(logger_name: str) -> None:
    """On the management port (metrics.port) the endpoint is outside the chain and needs no security;
    each change is logged with the caller's address."""
    service = Service("ops")
    overrides = ["logging.admin.enabled=true", "metrics.port=0", "metrics.host=127.0.0.1"]
    async with TestService(service, overrides=overrides) as t:
        management = service.component("observability-management")
        assert isinstance(management, ManagementServer)
        assert (await t.http.put("/admin/loggers", json={})).status_code == 404
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{management.port}") as client:
            response = await client.put("/admin/loggers", json={"levels": {logger_name: "ERROR"}})
    assert response.status_code == 200
    assert logging.getLogger(logger_name).level == logging.ERROR
    [line] = changes(t.logs)
    assert line["subject"] is None
    assert line["peer"].startswith("127.0.0.1:")
    assert line["changes"] == {logger_name: "NOTSET -> ERROR"}
