"""microlib.http: the HTTP application, server, error rendering and traced client."""

from __future__ import annotations

from microlib.http.app import HttpApp
from microlib.http.client import TracedTransport, traced_client
from microlib.http.endpoint import Handler
from microlib.http.errors import HTTP_STATUS, PROBLEM_CONTENT_TYPE, problem_body, problem_response
from microlib.http.server import HttpServer

__all__ = [
    "HTTP_STATUS",
    "PROBLEM_CONTENT_TYPE",
    "Handler",
    "HttpApp",
    "HttpServer",
    "TracedTransport",
    "problem_body",
    "problem_response",
    "traced_client",
]
