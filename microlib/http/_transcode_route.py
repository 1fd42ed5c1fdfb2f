"""A route matched by a ``google.api.http`` path template.

Starlette's own path syntax has no ``**``, no ``{a.b=x/*}`` and no custom
verbs, so transcoded routes match with their compiled template instead;
they still sit in the app's one router, next to plain routes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from microlib.core.errors import InvalidArgument
from microlib.http._router import allowed_methods
from microlib.http._transcode_path import PathTemplate
from microlib.http.errors import send_not_allowed

__all__ = ["PATH_REFUSAL", "Endpoint", "TemplateRoute"]

Endpoint = Callable[[Scope, Receive, Send, dict[tuple[str, ...], str]], Coroutine[Any, Any, None]]
"""Serves one matched request: scope, receive, send, decoded path values."""

_VALUES = "microlib.transcode.values"

PATH_REFUSAL = "microlib.transcode.path_refusal"
"""Where a matched request's scope holds why its path values cannot be decoded (a malformed
percent-escape): the endpoint answers it as the request's error."""


class TemplateRoute(BaseRoute):
    """One HTTP method on one path template.

    Args:
        template: The compiled template.
        method: The HTTP method it answers (``GET`` also answers ``HEAD``).
        endpoint: What serves a matched request.
        name: The route's name (the RPC's full name).
    """

    def __init__(self, template: PathTemplate, method: str, endpoint: Endpoint, name: str) -> None:
        self.template = template
        self.method = method
        self.methods = {method, "HEAD"} if method == "GET" else {method}
        self.endpoint = endpoint
        self.name = name
        self.path = template.text
        # The raw path a template without variables answers: the router finds it by lookup.
        self.raw_literal = template.text if not template.variables else None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match the raw path against the template, then the method."""
        if scope["type"] != "http":
            return Match.NONE, {}
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else quote(scope["path"])
        path = path.partition("?")[0]
        try:
            values = self.template.match(path)
        except InvalidArgument as exc:
            # Matched, but a value cannot be decoded: the endpoint refuses it through the chain.
            child: dict[str, Any] = {_VALUES: {}, PATH_REFUSAL: exc}
        else:
            if values is None:
                return Match.NONE, {}
            child = {_VALUES: values}
        return (Match.FULL if scope["method"] in self.methods else Match.PARTIAL), child

    def literal_match(self, scope: Scope) -> tuple[Match, Scope]:
        """The match of a request the router found by :attr:`raw_literal`."""
        return (Match.FULL if scope["method"] in self.methods else Match.PARTIAL), {_VALUES: {}}

    def literal_handle(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        """:meth:`handle` for a request the router found by :attr:`raw_literal` and one of
        its methods, with the scope :meth:`literal_match` gives: no match to make first."""
        values = scope[_VALUES] = {}
        return self.endpoint(scope, receive, send, values)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        """Transcoded routes are not reversed by name."""
        raise NoMatchFound(name, path_params)

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        """Serve the request, or answer 405 (``OPTIONS`` included, unless bound)
        with every method the path answers in ``Allow``.

        Returns the endpoint's own coroutine: no frame of its own per request.
        """
        if scope["method"] not in self.methods:
            return self._not_allowed(scope, send)
        return self.endpoint(scope, receive, send, scope[_VALUES])

    async def _not_allowed(self, scope: Scope, send: Send) -> None:
        await send_not_allowed(send, scope, allowed_methods(scope, self.methods))
