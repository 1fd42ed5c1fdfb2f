"""A plain route's dict or list is the response Starlette's JSONResponse would send, byte for byte."""

from __future__ import annotations

import math
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse

from microlib.core.chain import Chain
from microlib.http import HttpApp

_VALUES: dict[str, Any] = {
    "text": {"name": "café ☕", "quote": 'a "b" \\ c\n', "control": "\x00\x1f"},
    "numbers": {"int": 2**70, "float": 1e16, "small": 0.1, "negative": -0.0, "bool": True, "none": None},
    "keys": {1: "int key", 2.5: "float key", None: "none key", False: "bool key"},
    "list": [1, "two", [3.0], {"four": 4}, ()],
    "empty": [],
}


async def test_a_plain_routes_value_is_sent_as_jsonresponse_sends_it() -> None:
    """Text beyond ASCII, escapes, big and special numbers, non-text keys, nesting: the same body and
    headers; NaN, which JSONResponse refuses, is the usual 500."""
    app = HttpApp(Chain())

    @app.route("/values/{name}")
    async def value(request: Request) -> Any:
        return _VALUES[request.path_params["name"]]

    @app.route("/nan")
    async def nan(request: Request) -> Any:
        return {"value": math.nan}

    transport = httpx.ASGITransport(app=app.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for name, content in _VALUES.items():
            response = await client.get(f"/values/{name}")
            expected = JSONResponse(content)
            assert response.status_code == 200
            assert response.content == expected.body
            assert response.headers.raw == expected.raw_headers
        assert (await client.get("/nan")).status_code == 500
