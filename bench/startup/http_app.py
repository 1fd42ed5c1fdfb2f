"""The HTTP-only peer of bare_app.py as a microlib Service: one route, the default chain.

``bench/startup/run.py`` starts it with ``microlib run`` to show what a
service that configures no other concern pays at start.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from microlib import Service

service = Service("hello", version="1.0.0")


@service.http.route("/hello")
async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})
