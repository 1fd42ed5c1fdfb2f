"""The one router of a service's HTTP app: plain routes, OpenAPI operations and transcoded RPCs.

Every kind of route sits in one ordered table, Starlette's rule deciding
(the first route that matches path and method wins; else the first that
matches the path answers 405, ``Allow`` naming every route's methods on the
path; else a 307 to the path with or without its trailing slash, when a
route answers that; else 404). Literal paths, the usual case, are
found by one dict lookup instead of asking every route in turn; routes with
templates are asked in order, and only those registered before the literal
match. Errors the router answers itself (404, 405) go through the one
problem+json renderer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.routing import Router as StarletteRouter
from starlette.types import Receive, Scope, Send

from microlib.core.errors import NotFound
from microlib.http.edge import record_leaf, record_route
from microlib.http.errors import not_allowed, problem_response

__all__ = ["Router", "allowed_methods"]

StatusHandler = Callable[[Request, Exception], Awaitable[Response]]


class Router(StarletteRouter):
    """Routes each request to the first route of ``routes`` that matches it.

    A route answering requests by their raw (still percent-encoded) path
    declares the literal path it answers as ``raw_literal`` (None when its
    path has variables) and answers ``literal_match(scope)`` when the router
    found it by that path, and ``literal_handle(scope, receive, send)`` (its
    ``handle``, the match's scope set) when the router found it by that path
    and one of its methods; Starlette's literal ``Route`` is found by its path.

    Args:
        routes: Every route and mount, in order.
    """

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes))
        self._decoded: dict[str, list[tuple[int, BaseRoute]]] = {}
        self._raw: dict[str, list[tuple[int, BaseRoute]]] = {}
        self._scanned: list[tuple[int, BaseRoute]] = []
        for position, route in enumerate(self.routes):
            raw = getattr(route, "raw_literal", None)
            if isinstance(raw, str):
                self._raw.setdefault(raw, []).append((position, route))
            elif type(route) is Route and "{" not in route.path:
                self._decoded.setdefault(route.path, []).append((position, route))
            else:
                self._scanned.append((position, route))
        # A literal route found before every route with a template wins at once.
        self._first_scanned = self._scanned[0][0] if self._scanned else len(self.routes)
        # Such a route, alone on its path, by the raw path (as the server sends it, no query)
        # and each method it answers: the usual request's route in one lookup.
        self._direct: dict[tuple[Any, Any], BaseRoute] = {}
        for raw, hits in self._raw.items():
            position, route = hits[0]
            if len(hits) == 1 and position < self._first_scanned and raw.isascii():
                for method in getattr(route, "methods", ()):
                    self._direct[raw.encode("latin-1"), method] = route
        # What Starlette's exception middleware gives a plain route's
        # ``Request`` handling: HTTPException 404 and 405 as problem+json.
        status: dict[Any, StatusHandler] = {404: _not_found, 405: _not_allowed}
        self._handlers: tuple[dict[Any, Any], dict[Any, StatusHandler]] = ({}, status)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        """Serve one ASGI connection scope.

        Returns the route's own coroutine when the router finds it at once (see below),
        else the router's: no coroutine of the router's own for the usual request.
        """
        if "router" not in scope:
            scope["router"] = self
        # Without generated routes (a plain app), nothing to find at once.
        direct = self._direct.get((scope.get("raw_path"), scope.get("method"))) if self._direct else None
        if direct is not None and not scope.get("root_path") and scope["path"] not in self._decoded:
            # What match_route would find, found at once: a generated route (see _serve).
            scope["route"] = direct
            record_leaf(scope, direct.path)  # type: ignore[attr-defined]
            return direct.literal_handle(scope, receive, send)  # type: ignore[attr-defined, no-any-return]
        return self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a scope the router did not find a route for at once."""
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        found, child = self.match_route(scope)
        if found is None:
            await self._unmatched(scope, receive, send)
            return
        scope["route"] = found
        scope.update(child)
        if type(found) is Route:
            # A plain route, no mount: its template is the whole label, nothing below it to watch.
            record_leaf(scope, found.path)
        elif getattr(found, "raw_literal", False) is not False:
            # A generated route: it reads no Request and renders its own errors.
            record_leaf(scope, found.path)  # type: ignore[attr-defined]
            await found.handle(scope, receive, send)
            return
        else:
            scope = record_route(scope, found)
        scope["starlette.exception_handlers"] = self._handlers
        try:
            await found.handle(scope, receive, send)
        except HTTPException as exc:
            # What Starlette's exception middleware answered (a mount's 404, a 405).
            handler = self._handlers[1].get(exc.status_code, _http_exception)
            response = await handler(Request(scope), exc)
            await response(scope, receive, send)

    # Starlette's router calls ``app`` through ``__call__``: one frame here.
    app = __call__

    def match_route(self, scope: Scope) -> tuple[BaseRoute | None, Scope]:
        """The first route matching path and method, else the first matching the path."""
        first: tuple[int, BaseRoute, Scope] | None = None
        partial: tuple[int, BaseRoute, Scope] | None = None
        scanned = self._scanned
        raw = scope.get("raw_path")
        if raw is not None and not scope.get("root_path"):
            # Without generated routes (a plain app), no raw path to decode.
            literal = self._raw.get(raw.partition(b"?")[0].decode("latin-1")) if self._raw else None
            if literal is not None and len(literal) == 1 and literal[0][0] < self._first_scanned:
                # The usual case: one generated route has the path, before any template.
                position, route = literal[0]
                if scope["path"] not in self._decoded:
                    match, child = route.literal_match(scope)  # type: ignore[attr-defined]
                    if match is Match.FULL:
                        return route, child
            decoded = self._decoded.get(scope["path"])
            hits = literal or decoded or ()
            if literal and decoded:
                hits = sorted([*literal, *decoded], key=lambda hit: hit[0])
            for position, route in hits:
                # Found by its literal path: only the method is left to check.
                literal_match = getattr(route, "literal_match", None)
                match, child = literal_match(scope) if literal_match else route.matches(scope)
                if match is Match.FULL:
                    first = (position, route, child)
                    break
                if match is Match.PARTIAL and partial is None:
                    partial = (position, route, child)
        else:
            # A mount point above (``root_path``) or no raw path: every route is asked.
            scanned = list(enumerate(self.routes))
        for position, route in scanned:
            if first is not None and position > first[0]:
                break
            match, child = route.matches(scope)
            if match is Match.FULL:
                first = (position, route, child)
                break
            if match is Match.PARTIAL and (partial is None or position < partial[0]):
                partial = (position, route, child)
        chosen = first or partial
        return (chosen[1], chosen[2]) if chosen is not None else (None, {})

    async def _unmatched(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Redirect to the path with (or without) its trailing slash when that matches; else 404."""
        if scope["type"] != "http":
            await super().app(scope, receive, send)  # a WebSocket's close
            return
        response = self.slash_redirect(scope)
        if response is None:
            # A mount's bare prefix (`/api`): the mounted app's 404, in the shape its document
            # declares (an OpenAPIApp's `not_found`), not the router's own.
            path = scope["path"]
            mounted = next((r.app for r in self.routes if isinstance(r, Mount) and r.path == path), None)
            refuse = getattr(mounted, "not_found", None)
            if refuse is not None:
                await refuse(scope, send)
                return
            response = await _not_found(Request(scope), HTTPException(404))
        await response(scope, receive, send)

    def slash_redirect(self, scope: Scope) -> Response | None:
        """Starlette's ``redirect_slashes`` rule, for every kind of route: a 307 to the request's
        path with (or without) its trailing slash when a route matches that (a mount, when its
        app serves that path, if it says: see ``OpenAPIApp.serves``); else None.

        Only asked once nothing matched (the rare path). The path is changed as it came, still
        percent-encoded, so an encoded ``%2F`` stays one.
        """
        path: str = scope["path"]
        if not self.redirect_slashes or path == "/":
            return None
        redirect = dict(scope)
        redirect["path"] = _toggle_slash(path)
        raw = scope.get("raw_path")
        encoded = _toggle_slash(raw.partition(b"?")[0].decode("latin-1")) if raw is not None else None
        if encoded is not None and unquote(encoded) == redirect["path"]:
            redirect["raw_path"] = encoded.encode("latin-1")
        else:
            # No raw path, or one ending in an encoded slash (`%2F`): the decoded path decides, as
            # in Starlette (toggling the raw one would redirect back and forth).
            encoded = None
            redirect.pop("raw_path", None)
        found, child = self.match_route(redirect)
        if found is None:
            return None
        # Starlette counts a mount as a match: an OpenAPI document mounted at `/api` answered
        # `/api` with a 307 to `/api/`, and that with a 404. A mounted app that says what it
        # serves (``serves``) is asked.
        serves = getattr(found.app, "serves", None) if isinstance(found, Mount) else None
        if serves is not None and not serves({**redirect, **child}):
            return None
        # URL() writes the path as it finds it: the still-encoded one, when the server sent it.
        location = redirect if encoded is None else {**redirect, "path": encoded}
        return RedirectResponse(str(URL(scope=location)))


def _toggle_slash(path: str) -> str:
    return path.rstrip("/") if path.endswith("/") else path + "/"


def allowed_methods(scope: Scope, own: Iterable[str]) -> set[str]:
    """What a 405's ``Allow`` names: ``own`` (the methods of the route refusing the request) and
    those of every other route of the request's router that matches its path (another
    method's route on the same path, another template): the methods the path answers.

    Only asked for a 405 (the rare path).
    """
    allowed = set(own)
    for route in getattr(scope.get("router"), "routes", ()):
        methods = getattr(route, "methods", None)
        if methods and route.matches(scope)[0] is not Match.NONE:
            allowed.update(methods)
    return allowed


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem_response(NotFound(f"no route matches {request.method} {request.url.path}"))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    error = not_allowed(request.method, request.url.path)
    # Starlette's route names its methods in `Allow`, in its set's order.
    allow = exc.headers.get("Allow", "") if isinstance(exc, HTTPException) and exc.headers else ""
    own = (m.strip() for m in allow.split(",") if m.strip())
    methods = ", ".join(sorted(allowed_methods(request.scope, own)))
    return problem_response(error, status=405, headers={"Allow": methods} if methods else None)


async def _http_exception(request: Request, exc: Exception) -> Response:
    # Starlette's default answer to an HTTPException.
    assert isinstance(exc, HTTPException)
    if exc.status_code in {204, 304}:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
