"""An OpenAPI path template as a route of the one router.

Values are captured from the raw, still percent-encoded path and decoded by
the parameter parser, so ``%2F`` stays inside one parameter and ``%2C``
inside one array item. A document's templates are added most specific first
(the OpenAPI rule: ``/pets/mine`` wins over ``/pets/{petId}``).
"""

from __future__ import annotations

import re
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from microlib.http._router import allowed_methods
from microlib.http.errors import SHAPES_SCOPE_KEY, send_not_allowed

if TYPE_CHECKING:
    from microlib.http._error_shapes import ErrorShape
    from microlib.http._operation import OperationEndpoint

__all__ = ["OperationRoute", "common_shape", "operation_routes", "path_below"]

_VAR = re.compile(r"\{([^{}]+)\}")
_VALUES = "microlib.openapi.values"


class OperationRoute(BaseRoute):
    """The operations of one path template, by HTTP method.

    Args:
        template: The path template as the router sees it (the document's,
            after the prefix it is mounted at).
        endpoints: Upper-case method -> the operation's endpoint (``GET``'s also answers
            ``HEAD``, unless the document declares a HEAD operation of its own).
        styles: Path parameter name -> style (``simple``, ``label``,
            ``matrix``); it decides what a value may contain.
        strip: A prefix taken off the raw path before matching, when the
            scope's ``root_path`` does not say it.
    """

    def __init__(
        self,
        template: str,
        endpoints: Mapping[str, OperationEndpoint],
        styles: Mapping[str, str],
        *,
        strip: str = "",
    ) -> None:
        self.path = template
        self.endpoints = dict(endpoints)
        if "GET" in self.endpoints:
            # HEAD is GET without the body (RFC 9110 9.3.2; the server leaves the body out), as
            # Starlette's routes answer it: load balancers and `curl -I` check with it.
            self.endpoints.setdefault("HEAD", self.endpoints["GET"])
        self.methods = set(self.endpoints)
        # A 405 takes the shape every operation of the path declares for it.
        self._not_allowed = common_shape(self.endpoints.values(), 405)
        self._strip = strip
        self._regex, self._names = _compile(template, styles)
        # The raw path a template without variables answers: the router finds it by lookup.
        self.raw_literal: str | None = strip + template if not self._names else None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match the raw path against the template, then the method."""
        if scope["type"] != "http":
            return Match.NONE, {}
        found = self._regex.match(path_below(scope, self._strip))
        if found is None:
            return Match.NONE, {}
        child = {_VALUES: dict(zip(self._names, found.groups(), strict=True))}
        return (Match.FULL if scope["method"] in self.endpoints else Match.PARTIAL), child

    def literal_match(self, scope: Scope) -> tuple[Match, Scope]:
        """The match of a request the router found by :attr:`raw_literal`."""
        return (Match.FULL if scope["method"] in self.endpoints else Match.PARTIAL), {_VALUES: {}}

    def literal_handle(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        """:meth:`handle` for a request the router found by :attr:`raw_literal` and one of
        its methods, with the scope :meth:`literal_match` gives: no match to make first."""
        values = scope[_VALUES] = {}
        endpoint = self.endpoints[scope["method"]]
        if endpoint.shaped:
            scope[SHAPES_SCOPE_KEY] = endpoint.errors
        return endpoint.handle(scope, receive, send, values)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        """Operations are not reversed by name."""
        raise NoMatchFound(name, path_params)

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        """Serve the operation, or answer 405 with the template's methods in ``Allow``.

        Returns the endpoint's own coroutine: no frame of its own per request.
        """
        endpoint = self.endpoints.get(scope["method"])
        if endpoint is None:
            return self._refuse(scope, send)
        if endpoint.shaped:
            scope[SHAPES_SCOPE_KEY] = endpoint.errors
        return endpoint.handle(scope, receive, send, scope[_VALUES])

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await send_not_allowed(send, scope, allowed_methods(scope, self.endpoints), shape=self._not_allowed)


def common_shape(endpoints: Iterable[OperationEndpoint], status: int) -> ErrorShape | None:
    """The shape every one of ``endpoints`` declares for ``status``, if they agree: for the
    errors of a path (405) or of an app (404 for an unknown path) rather than an operation.

    An endpoint that declares no error shape shares none, so the shapes' module is only
    imported when every endpoint declares some.
    """
    shapes = [e.errors for e in endpoints]
    if not shapes or any(s is None for s in shapes):
        return None
    from microlib.http._error_shapes import shared_shape

    return shared_shape([s for s in shapes if s is not None], status)


def operation_routes(
    endpoints: Sequence[OperationEndpoint], *, prefix: str, strip: str
) -> list[OperationRoute]:
    """One route per path template of ``endpoints``, literal paths first, then the most specific.

    Args:
        endpoints: The operations served.
        prefix: Put before each template (the path the app is mounted at).
        strip: Taken off the raw path before matching (see :class:`OperationRoute`).
    """
    by_template: dict[str, dict[str, OperationEndpoint]] = {}
    styles: dict[str, dict[str, str]] = {}
    for endpoint in endpoints:
        op = endpoint.op
        by_template.setdefault(op.path, {})[op.method] = endpoint
        styles[op.path] = {p.name: p.style for p in op.parameters if p.location == "path"}
    # Fewer variables and more literal characters first.
    ordered = sorted(by_template, key=lambda t: (len(_VAR.findall(t)), -len(_VAR.sub("", t))))
    return [OperationRoute(prefix + t, by_template[t], styles[t], strip=strip) for t in ordered]


def _compile(template: str, styles: Mapping[str, str]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    pattern = ["^"]
    names: list[str] = []
    pos = 0
    for m in _VAR.finditer(template):
        pattern.append(re.escape(template[pos : m.start()]))
        name = m.group(1)
        names.append(name)
        style = styles.get(name, "simple")
        if style == "label":
            pattern.append(r"(\.[^/]*)")
        elif style == "matrix":
            pattern.append(r"(;[^/]*)")
        else:
            pattern.append(r"([^/]+?)")
        pos = m.end()
    pattern.append(re.escape(template[pos:]) + "$")
    return re.compile("".join(pattern)), tuple(names)


def path_below(scope: Scope, prefix: str) -> str:
    """The request's raw path below where it is served: the scope's ``root_path``, else ``prefix``."""
    raw = scope.get("raw_path")
    # Some servers and test transports include the query string in raw_path.
    path: str = raw.partition(b"?")[0].decode("latin-1") if raw else scope["path"]
    root = scope.get("root_path") or prefix
    if root and path.startswith(root):
        path = path[len(root) :]
    return path
