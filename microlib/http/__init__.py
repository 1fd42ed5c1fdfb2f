"""microlib.http: the HTTP application, server, error rendering and traced client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from microlib.core._lazy import lazy_exports

if TYPE_CHECKING:
    from microlib.http._error_shapes import ErrorShapeError, check_error_schema
    from microlib.http._multipart import UploadedFile
    from microlib.http._plain import Handler
    from microlib.http.app import HttpApp
    from microlib.http.client import TracedTransport, traced_client
    from microlib.http.context import context_from_scope
    from microlib.http.docs import AsyncAPIDocsApp, DocsApp
    from microlib.http.edge import HttpEdge, edge_middleware
    from microlib.http.errors import (
        HTTP_STATUS,
        PROBLEM_CONTENT_TYPE,
        problem_body,
        problem_response,
        send_problem,
    )
    from microlib.http.log_levels import log_levels_route
    from microlib.http.management import ManagementServer, management_routes, metrics_route
    from microlib.http.middleware import HttpMiddlewareSettings, build_middleware
    from microlib.http.openapi import OpenAPIApp, Reply
    from microlib.http.server import HttpServer

__all__ = [
    "HTTP_STATUS",
    "PROBLEM_CONTENT_TYPE",
    "AsyncAPIDocsApp",
    "DocsApp",
    "ErrorShapeError",
    "Handler",
    "HttpApp",
    "HttpEdge",
    "HttpMiddlewareSettings",
    "HttpServer",
    "ManagementServer",
    "OpenAPIApp",
    "Reply",
    "TracedTransport",
    "UploadedFile",
    "build_middleware",
    "check_error_schema",
    "context_from_scope",
    "edge_middleware",
    "log_levels_route",
    "management_routes",
    "metrics_route",
    "problem_body",
    "problem_response",
    "send_problem",
    "traced_client",
]

# Each name is imported on first use: importing the package loads none of its modules.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AsyncAPIDocsApp": "microlib.http.docs",
        "DocsApp": "microlib.http.docs",
        "ErrorShapeError": "microlib.http._error_shapes",
        "HTTP_STATUS": "microlib.http.errors",
        "Handler": "microlib.http._plain",
        "HttpApp": "microlib.http.app",
        "HttpEdge": "microlib.http.edge",
        "HttpMiddlewareSettings": "microlib.http.middleware",
        "HttpServer": "microlib.http.server",
        "ManagementServer": "microlib.http.management",
        "OpenAPIApp": "microlib.http.openapi",
        "PROBLEM_CONTENT_TYPE": "microlib.http.errors",
        "Reply": "microlib.http.openapi",
        "TracedTransport": "microlib.http.client",
        "UploadedFile": "microlib.http._multipart",
        "build_middleware": "microlib.http.middleware",
        "check_error_schema": "microlib.http._error_shapes",
        "context_from_scope": "microlib.http.context",
        "edge_middleware": "microlib.http.edge",
        "log_levels_route": "microlib.http.log_levels",
        "management_routes": "microlib.http.management",
        "metrics_route": "microlib.http.management",
        "problem_body": "microlib.http.errors",
        "problem_response": "microlib.http.errors",
        "send_problem": "microlib.http.errors",
        "traced_client": "microlib.http.client",
    },
)
