"""microlib.http: the HTTP application, server, error rendering and traced client."""

from __future__ import annotations

from microlib.http.app import HttpApp
from microlib.http.client import TracedTransport, traced_client
from microlib.http.docs import DocsApp
from microlib.http.endpoint import Handler
from microlib.http.errors import HTTP_STATUS, PROBLEM_CONTENT_TYPE, problem_body, problem_response
from microlib.http.middleware import HttpMiddlewareSettings, build_middleware
from microlib.http.openapi import OpenAPIApp, Reply
from microlib.http.server import HttpServer

__all__ = [
    "HTTP_STATUS",
    "PROBLEM_CONTENT_TYPE",
    "DocsApp",
    "Handler",
    "HttpApp",
    "HttpMiddlewareSettings",
    "HttpServer",
    "OpenAPIApp",
    "Reply",
    "TracedTransport",
    "build_middleware",
    "problem_body",
    "problem_response",
    "traced_client",
]
