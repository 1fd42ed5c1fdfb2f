"""The runtime log-level endpoint (``logging.admin``, off by default).

``GET`` returns the root level and every configured logger's level;
``PUT`` with ``{"levels": {"microlib.http": "DEBUG", "root": "WARNING"}}``
changes them until the next config reload. Mount it only where operators
(not the public) can reach it: on the management port, or behind authz.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from microlib.core.errors import Error
from microlib.observability.logging import LogPipeline

__all__ = ["log_levels_route"]


def log_levels_route(pipeline: LogPipeline, path: str) -> Route:
    """A route reading (``GET``) and changing (``PUT``) log levels at runtime.

    Args:
        pipeline: The log pipeline whose levels are changed.
        path: Where to mount it (``logging.admin.path``).
    """

    async def levels(request: Request) -> Response:
        if request.method == "PUT":
            try:
                body: Any = json.loads(await request.body() or b"null")
            except ValueError as exc:
                return _problem(400, f"request body is not JSON: {exc}")
            requested = body.get("levels") if isinstance(body, dict) else None
            if not isinstance(requested, dict) or not all(isinstance(k, str) for k in requested):
                return _problem(400, 'expected a JSON object {"levels": {"<logger>": "<LEVEL>"}}')
            try:
                pipeline.set_levels({name: str(level) for name, level in requested.items()})
            except Error as exc:
                return _problem(
                    400,
                    exc.message,
                    violations=[{"field": v.field, "description": v.description} for v in exc.violations],
                )
        return JSONResponse({"levels": pipeline.levels()})

    return Route(path, levels, methods=["GET", "PUT"], name="log-levels")


def _problem(status: int, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": "Bad Request", "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")
