"""The runtime log-level endpoint (``logging.admin``, off by default).

``GET`` returns the root level and every configured logger's level;
``PUT`` with ``{"levels": {"microlib.http": "DEBUG", "root": "WARNING"}}``
changes them until the next config reload. Each change is logged (one INFO
line from ``microlib.admin``) with who made it and each level before and
after. On the service's own port the Service routes it through the chain,
so the access rules decide who may call it; on the management port
(``metrics.port``) it is reachable by whoever can reach that port.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from microlib.core.context import current_context
from microlib.core.errors import Error, FieldViolation, InvalidArgument
from microlib.http._content_coding import check_content_coding
from microlib.http.errors import problem_response
from microlib.observability.http_server import current_correlation_id
from microlib.observability.logging import LogPipeline

__all__ = ["log_levels_route"]

log = structlog.get_logger("microlib.admin")


def log_levels_route(pipeline: LogPipeline, path: str) -> Route:
    """A route reading (``GET``) and changing (``PUT``) log levels at runtime.

    Args:
        pipeline: The log pipeline whose levels are changed.
        path: Where to mount it (``logging.admin.path``).
    """

    async def levels(request: Request) -> Response:
        if request.method == "PUT":
            raw = await request.body()
            try:
                if raw:
                    check_content_coding(request.headers)
                body: Any = json.loads(raw or b"null")
            except Error as exc:
                return _refuse(exc)
            except ValueError as exc:
                return _refuse(InvalidArgument(f"request body is not JSON: {exc}"))
            requested = body.get("levels") if isinstance(body, dict) else None
            if not isinstance(requested, dict) or not all(isinstance(k, str) for k in requested):
                expected = 'expected a JSON object {"levels": {"<logger>": "<LEVEL>"}}'
                return _refuse(InvalidArgument(expected, violations=[FieldViolation("levels", expected)]))
            before = pipeline.levels()
            try:
                pipeline.set_levels({name: str(level) for name, level in requested.items()})
            except Error as exc:
                return _refuse(exc)
            _audit(request, requested, before, pipeline.levels())
        return JSONResponse({"levels": pipeline.levels()})

    return Route(path, levels, methods=["GET", "PUT"], name="log-levels")


def _audit(
    request: Request, requested: Mapping[str, Any], before: Mapping[str, str], after: Mapping[str, str]
) -> None:
    # Through the chain the caller is the authenticated principal; on the
    # management port (no chain) only the peer address is known.
    ctx = current_context()
    principal = ctx.principal if ctx is not None else None
    client = request.client
    names = ["root" if name in ("", "root") else name for name in requested]
    log.info(
        "log levels changed",
        subject=principal.subject if principal is not None else None,
        peer=f"{client.host}:{client.port}" if client else "",
        changes={name: f"{before.get(name, 'NOTSET')} -> {after.get(name, 'NOTSET')}" for name in names},
    )


def _refuse(error: Error) -> Response:
    # The service's one error model (typed problem, code, correlation id),
    # whether the route is served through the chain or on the management port.
    return problem_response(error, correlation_id=current_correlation_id())
