"""Services the CLI tests run as real subprocesses."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from microlib import Service

service = Service("slow-app")


@service.http.route("/slow")
async def slow(request: Request) -> dict[str, Any]:
    await asyncio.sleep(float(request.query_params.get("seconds", "1.5")))
    return {"done": True}


class Broken:
    """A component whose dependency is down."""

    name = "ledger-db"

    async def start(self) -> None:
        raise ConnectionRefusedError("connection refused by 127.0.0.1:1")

    async def stop(self) -> None:
        return None

    async def check(self) -> Mapping[str, Any] | None:
        return None


broken = Service("broken-app")
broken.add(Broken())
