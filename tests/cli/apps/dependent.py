"""A service with a database (critical) and a cache (non-critical), for outage tests.

Their URLs come from the command line (``--set database.url=... cache.url=...``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from microlib import Service

service = Service("dependent-app", database=True, cache=True)


@service.http.route("/hello")
async def hello(request: Request) -> dict[str, Any]:
    return {"hello": "world"}
