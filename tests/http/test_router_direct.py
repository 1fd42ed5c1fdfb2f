"""The router's lookup by raw path and method against its general match: the same scope, the same call."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import pytest

from microlib.http._error_shapes import SCOPE_KEY
from microlib.http._operation_route import OperationRoute
from microlib.http._router import Router
from microlib.http._transcode_path import PathTemplate
from microlib.http._transcode_route import TemplateRoute


class _Shapes:
    """Error shapes declaring nothing but a 405 of their own."""

    def shape(self, status: int) -> Any:
        return "shape-405" if status == 405 else None


_SHAPES = _Shapes()


class _Endpoint:
    """An operation's endpoint that records the scope and values it is called with."""

    def __init__(self, seen: list[Any], *, shaped: bool) -> None:
        self.seen = seen
        self.shaped = shaped
        self.errors = _SHAPES

    async def handle(self, scope: Any, receive: Any, send: Any, values: dict[str, str]) -> None:
        self.seen.append((dict(scope), values))


def _router(seen: list[Any]) -> Router:
    async def transcoded(scope: Any, receive: Any, send: Any, values: dict[Any, str]) -> None:
        seen.append((dict(scope), values))

    endpoints = {"POST": _Endpoint(seen, shaped=True), "GET": _Endpoint(seen, shaped=False)}
    return Router(
        [
            OperationRoute("/v1/orders", endpoints, {}),  # type: ignore[arg-type]
            TemplateRoute(PathTemplate.parse("/v1/things"), "GET", transcoded, "things.Get"),
        ]
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/orders"), ("GET", "/v1/orders"), ("GET", "/v1/things"), ("HEAD", "/v1/things")],
)
async def test_a_route_found_by_lookup_is_served_as_the_general_match_serves_it(
    method: str, path: str
) -> None:
    seen: list[Any] = []
    for lookup in (True, False):
        router = _router(seen)
        if not lookup:
            router._direct.clear()  # every request takes match_route
        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": ""}
        await router(scope, None, None)  # type: ignore[arg-type]
    (direct, direct_values), (general, general_values) = seen
    assert direct_values == general_values == {}
    # The same keys in the same order; the routes are each router's own.
    assert list(direct) == list(general)
    assert type(direct["route"]) is type(general["route"])
    assert {k: v for k, v in direct.items() if k not in ("route", "router")} == {
        k: v for k, v in general.items() if k not in ("route", "router")
    }
    assert (SCOPE_KEY in direct) == (method == "POST")


async def test_a_route_found_by_lookup_runs_with_no_frame_of_the_router() -> None:
    """The router hands back the route's own coroutine for a request it finds by lookup:
    the endpoint runs right under the router's caller, with no coroutine of the router's
    between them; a request it must match still goes through the router's own."""
    stacks: list[list[str]] = []

    class _Recording(_Endpoint):
        async def handle(self, scope: Any, receive: Any, send: Any, values: dict[str, str]) -> None:
            frame: FrameType | None = sys._getframe(1)
            names = []
            while frame is not None:
                names.append(frame.f_code.co_qualname)
                frame = frame.f_back
            stacks.append(names)

    for lookup in (True, False):
        router = Router([OperationRoute("/v1/orders", {"POST": _Recording([], shaped=False)}, {})])  # type: ignore[dict-item]
        if not lookup:
            router._direct.clear()
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/orders",
            "raw_path": b"/v1/orders",
            "root_path": "",
        }
        await router(scope, None, None)  # type: ignore[arg-type]
    direct, general = stacks
    assert not any(name.startswith("Router.") for name in direct)
    assert direct[0] == "test_a_route_found_by_lookup_runs_with_no_frame_of_the_router"
    assert any(name.startswith("Router.") for name in general)
