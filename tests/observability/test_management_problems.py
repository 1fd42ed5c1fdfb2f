"""The management endpoints answer errors in the service's one error model.

They used to answer ``about:blank`` problems without a ``code`` (and the
management port plain-text 404/405s), unlike every other error the service
sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from microlib.http import ManagementServer, management_routes
from tests.observability.helpers import build_app, make_observability, serve


@pytest.fixture
async def management() -> AsyncIterator[httpx.AsyncClient]:
    """A client of the management port (``metrics.port``) with the log-level endpoint on."""
    obs, _ = make_observability("shop", logging={"admin": {"enabled": True}})
    server = ManagementServer(management_routes(obs), host="127.0.0.1", port=0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            yield client
    finally:
        await server.stop()


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    expected_type = f"urn:microlib:problem:{code.lower().replace('_', '-')}"
    assert (body["type"], body["code"], body["status"]) == (expected_type, code, status)
    return body


async def test_bad_log_level_requests_are_invalid_argument_problems(management: httpx.AsyncClient) -> None:
    """Each refusal of the log-level endpoint is INVALID_ARGUMENT, naming the field where there is one."""
    not_json = await management.put("/admin/loggers", content=b"{")
    assert "not JSON" in problem(not_json, 400, "INVALID_ARGUMENT")["detail"]
    wrong_shape = await management.put("/admin/loggers", json={"level": "DEBUG"})
    assert problem(wrong_shape, 400, "INVALID_ARGUMENT")["violations"][0]["field"] == "levels"
    bad_level = await management.put("/admin/loggers", json={"levels": {"demo": "LOUD"}})
    assert problem(bad_level, 400, "INVALID_ARGUMENT")["violations"][0]["field"] == "levels.demo"


async def test_unknown_paths_and_methods_on_the_management_port(management: httpx.AsyncClient) -> None:
    """The management port's own 404 and 405 are problems too, not Starlette's plain text."""
    missing = await management.get("/nothing-here")
    assert problem(missing, 404, "NOT_FOUND")["detail"] == "no route matches GET /nothing-here"
    wrong_method = await management.delete("/metrics")
    problem(wrong_method, 405, "UNIMPLEMENTED")
    assert wrong_method.headers["allow"] == "GET, HEAD"


async def test_on_the_service_port_a_refusal_carries_the_correlation_id() -> None:
    """Served behind the edge, the problem carries the request's correlation id, as other errors do."""
    obs, _ = make_observability("orders", logging={"admin": {"enabled": True}})
    async with serve(build_app(obs, [])) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.put("/admin/loggers", json={"levels": {"demo": "LOUD"}})
    body = problem(response, 400, "INVALID_ARGUMENT")
    assert body["correlation_id"] == response.headers["x-request-id"]
