"""microlib.http: the HTTP application, server and error rendering."""

from __future__ import annotations

from microlib.http.app import HttpApp
from microlib.http.endpoint import Handler
from microlib.http.errors import HTTP_STATUS, PROBLEM_CONTENT_TYPE, problem_body, problem_response
from microlib.http.server import HttpServer

__all__ = [
    "HTTP_STATUS",
    "PROBLEM_CONTENT_TYPE",
    "Handler",
    "HttpApp",
    "HttpServer",
    "problem_body",
    "problem_response",
]
