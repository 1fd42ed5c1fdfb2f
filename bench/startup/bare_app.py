"""The peer: a bare Starlette app on uvicorn with a readiness route."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def ready(request: Request) -> JSONResponse:
    return JSONResponse({"status": "UP"})


app = Starlette(routes=[Route("/health/ready", ready)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", loop="uvloop")
