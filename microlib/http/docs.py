"""Serve an OpenAPI or AsyncAPI document and an HTML view whose assets are local.

``/openapi.json`` is the document as written (bundled into one file by
``microlib codegen``), ``/openapi.yaml`` the same in YAML, ``/docs`` a
Swagger UI page whose scripts and styles are package data of microlib
(swagger-ui-dist 5, which renders OpenAPI 3.1). An AsyncAPI document is
served the same way at ``/asyncapi.json``, ``/asyncapi.yaml`` and
``/asyncapi``, the page drawn by the AsyncAPI React component's standalone
bundle (@asyncapi/react-component 3, which renders 2.x and 3.x), also
package data. No CDN: the pages work offline.
"""

from __future__ import annotations

import html
import json
import mimetypes
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope
from starlette.types import Send as StarletteSend

from microlib.core.chain import Chain
from microlib.core.errors import NotFound
from microlib.http._operation_route import path_below
from microlib.http._plain import Handler, Wrapping, endpoint
from microlib.http._responder import Send, send_bytes
from microlib.http.errors import send_not_allowed

__all__ = [
    "AsyncAPIDocsApp",
    "ChainedDocs",
    "DocsApp",
    "asyncapi_routes",
    "asyncapi_ui_dir",
    "openapi_routes",
    "swagger_ui_dir",
]

_ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
        "oauth2-redirect.html",
    }
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="icon" type="image/png" href="{static}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: {spec},
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  validatorUrl: null
}});
</script>
</body>
</html>
"""


_ASYNCAPI_ASSETS = frozenset({"index.js", "default.min.css"})

_ASYNCAPI_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{static}/default.min.css">
</head>
<body>
<div id="asyncapi"></div>
<script src="{static}/index.js"></script>
<script>
AsyncApiStandalone.render({{
  schema: {{url: {spec}, options: {{method: "GET", mode: "same-origin"}}}},
  config: {{show: {{sidebar: true}}}}
}}, document.getElementById("asyncapi"));
</script>
</body>
</html>
"""


def swagger_ui_dir() -> Path:
    """The directory of the Swagger UI assets shipped with microlib.

    Returns:
        ``microlib/http/_static/swagger-ui``.
    """
    return Path(__file__).with_name("_static") / "swagger-ui"


def asyncapi_ui_dir() -> Path:
    """The directory of the AsyncAPI React component's assets shipped with microlib.

    Returns:
        ``microlib/http/_static/asyncapi-react``.
    """
    return Path(__file__).with_name("_static") / "asyncapi-react"


class _Once:
    """A body, rendered at the first request that needs it and remembered.

    Dumping a document to YAML (and re-indenting its JSON) is pure Python and
    costs more than the rest of a service's assembly: at start every
    process would pay it for pages few ever read. It runs in a worker thread:
    GitHub's 13 MB description takes seconds to dump, which every other
    request (and the health probes) would otherwise wait for.
    """

    def __init__(self, render: Callable[[], bytes]) -> None:
        self._render = render
        self._body: bytes | None = None
        # Made at the first request: creating it loads anyio's backend, which no start needs.
        self._lock: anyio.Lock | None = None

    async def __call__(self) -> bytes:
        if self._body is None:
            if self._lock is None:
                self._lock = anyio.Lock()
            async with self._lock:  # concurrent first requests render it once
                if self._body is None:
                    self._body = await anyio.to_thread.run_sync(self._render)
        return self._body


class _Documents:
    """One document in JSON and YAML, a page, and the page's assets, under ``prefix``.

    Each body is rendered at the first request for it (:class:`_Once`).
    """

    _paths: dict[str, tuple[_Once, str]]
    _static: str
    _assets: frozenset[str]
    _static_dir: Path
    _prefix: str

    async def __call__(self, scope: Any, receive: Any, send: Send) -> None:
        """Serve one ASGI request; 404 for any other path."""
        path = scope["path"]
        root = scope.get("root_path") or self._prefix
        if root and path.startswith(root):
            path = path[len(root) :]
        if not await self.serve(scope, receive, send, path):
            await send_bytes(send, 404, b"Not Found", "text/plain")

    async def serve(self, scope: Any, receive: Any, send: Send, path: str) -> bool:
        """Serve the request if its path is one of the documents, the page or an asset.

        Args:
            scope: The ASGI scope.
            receive: The ASGI receive callable.
            send: The ASGI send callable.
            path: The request path relative to where the app is served.

        Returns:
            Whether the request was served.
        """
        found = await self.find(scope["method"], path)
        if found is None:
            return False
        await send_bytes(send, 200, *found)
        return True

    async def find(self, method: str, path: str) -> tuple[bytes, str, list[tuple[bytes, bytes]]] | None:
        """The body, media type and headers served at ``path`` (relative to where the app is
        served), or None when it serves nothing there."""
        if method not in ("GET", "HEAD"):
            return None
        found = self._paths.get(path)
        if found is not None:
            render, media = found
            return await render(), media, []
        name = path.removeprefix(self._static)
        if path.startswith(self._static) and name in self._assets:
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            data = (self._static_dir / name).read_bytes()
            return data, media, [(b"cache-control", b"max-age=86400")]
        return None


class DocsApp(_Documents):
    """Serves one document and its UI under ``prefix``.

    Args:
        spec_path: The bundled JSON document.
        title: The page title.
        prefix: The path the documents are served under (``""`` or
            ``/api``), for the links of the page.
        server_url: Where the document's paths are served (``/api``, or
            ``/`` for routes at the root): the served document's ``servers``
            says so, so clients and the page's "Try it out" call the right
            URL. ``None`` serves the document byte for byte.
    """

    def __init__(
        self, spec_path: Path, *, title: str = "API", prefix: str = "", server_url: str | None = None
    ) -> None:
        # Read and parsed now, so a missing or broken document stops the start.
        written = spec_path.read_bytes()
        document = json.loads(written)
        if server_url is not None:
            # A path with no host: right behind any host name and port.
            document = {**document, "servers": [{"url": server_url}]}

        def raw() -> bytes:
            if server_url is None:
                return written
            return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()

        self._prefix = prefix.rstrip("/")
        self._static_dir = swagger_ui_dir()
        self._static = "/docs/static/"
        self._assets = _ASSETS
        page = _PAGE.format(
            title=html.escape(f"{title} - Swagger UI"),
            static=html.escape(f"{self._prefix}/docs/static"),
            spec=json.dumps(f"{self._prefix}/openapi.json"),
        )
        html_page = (_Once(page.encode), "text/html; charset=utf-8")
        self._paths = {
            "/openapi.json": (_Once(raw), "application/json"),
            "/openapi.yaml": (_Once(lambda: _yaml(document)), "application/yaml"),
            "/docs": html_page,
            "/docs/": html_page,
        }


class AsyncAPIDocsApp(_Documents):
    """Serves one AsyncAPI document and its page under ``prefix``.

    ``/asyncapi.json`` is the document as ``microlib codegen`` wrote it
    (the generated package's ``asyncapi.json``, byte for byte),
    ``/asyncapi.yaml`` the same in YAML, ``/asyncapi`` the page, its assets
    under ``/asyncapi/static/``.

    Args:
        document: The document (``DEFINITION.document`` of the generated package).
        title: The page title.
        prefix: The path the documents are served under (``""`` or
            ``/api``), for the links of the page.
    """

    def __init__(self, document: Mapping[str, Any], *, title: str = "Events", prefix: str = "") -> None:
        self._prefix = prefix.rstrip("/")
        self._static_dir = asyncapi_ui_dir()
        self._static = "/asyncapi/static/"
        self._assets = _ASYNCAPI_ASSETS
        page = _ASYNCAPI_PAGE.format(
            title=html.escape(f"{title} - AsyncAPI"),
            static=html.escape(f"{self._prefix}/asyncapi/static"),
            spec=json.dumps(f"{self._prefix}/asyncapi.json"),
        )
        html_page = (_Once(page.encode), "text/html; charset=utf-8")
        self._paths = {
            # The generator writes the document with these very settings.
            "/asyncapi.json": (
                _Once(lambda: (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()),
                "application/json",
            ),
            "/asyncapi.yaml": (_Once(lambda: _yaml(document)), "application/yaml"),
            "/asyncapi": html_page,
            "/asyncapi/": html_page,
        }


def _yaml(document: Mapping[str, Any]) -> bytes:
    import yaml  # only when a YAML rendering is first asked for

    # libyaml's emitter where PyYAML was built with it: a quarter of the pure-Python one's time.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(dict(document), Dumper=dumper, sort_keys=False, allow_unicode=True).encode()


def asyncapi_routes(
    document: Mapping[str, Any], *, title: str = "Events", prefix: str = "", chain: Chain | None = None
) -> list[Route]:
    """Routes serving an AsyncAPI document at ``<prefix>/asyncapi.json``, its YAML
    and its page (an :class:`AsyncAPIDocsApp`), to add to an app at its root.

    Args:
        document: The document.
        title: The page title.
        prefix: Where under the root (``""``, ``/events``).
        chain: The service's chain: its access rules decide who reads the document.
    """
    app = AsyncAPIDocsApp(document, title=title, prefix=prefix)
    paths = ["/asyncapi.json", "/asyncapi.yaml", "/asyncapi", "/asyncapi/", "/asyncapi/static/{name:path}"]
    return _routes(app, prefix.rstrip("/"), paths, chain)


def _routes(documents: _Documents, root: str, paths: list[str], chain: Chain | None) -> list[Route]:
    """Routes serving ``documents`` at ``root + path``; through ``chain`` when given, so the
    service's access rules decide who reads them, as for any route (``security.public_paths``)."""
    if chain is None:
        return [Route(root + path, documents, methods=["GET", "HEAD"]) for path in paths]
    serve = _reader(documents, root)
    served = [(root + path, endpoint(chain, serve, service="http", method=root + path)) for path in paths]
    return [Route(template, run, methods=["GET", "HEAD"]) for template, run in served]


def _reader(documents: _Documents, root: str) -> Handler:
    """The handler serving ``documents`` below ``root``: a path they do not hold is a 404."""

    async def serve(request: Request) -> Response:
        found = await documents.find(request.method, path_below(request.scope, root))
        if found is None:
            raise NotFound(f"no document at {request.scope['path']}")
        body, media, headers = found
        response = Response(body, media_type=media)
        response.raw_headers.extend(headers)
        return response

    return serve


_OPENAPI_PATHS = ["/openapi.json", "/openapi.yaml", "/docs", "/docs/", "/docs/static/{name:path}"]


class ChainedDocs:
    """An OpenAPI document, its YAML and its Swagger UI page, each request through ``chain``.

    For an app that routes these paths itself (``OpenAPIApp``): each path is a
    method of service ``http`` named by its template under ``prefix``
    (``/api/openapi.json``), as :func:`openapi_routes` names them, so the
    service's access rules decide who reads them (``security.public_paths``).

    Args:
        spec_path: The bundled JSON document.
        title: The page title.
        prefix: Where the app is served (``""``, ``/api``); the served
            document's ``servers`` names it.
        chain: What runs each request: the service's chain.
    """

    paths = ("/openapi.json", "/openapi.yaml", "/docs")
    """The documents and the page, below ``prefix`` (the page's assets are under ``/docs/static/``)."""

    def __init__(self, spec_path: Path, *, title: str, prefix: str, chain: Wrapping) -> None:
        root = prefix.rstrip("/")
        serve = _reader(DocsApp(spec_path, title=title, prefix=root, server_url=root or "/"), root)
        self._endpoints = {
            path: endpoint(chain, serve, service="http", method=root + path) for path in _OPENAPI_PATHS
        }

    async def serve(self, scope: Scope, receive: Receive, send: StarletteSend, path: str) -> bool:
        """Serve the request if ``path`` (below where the app is served) is one of the documents' paths.

        Returns:
            Whether the path is theirs (answered, even if refused, a 405 to a method other than
            GET and HEAD, or a 404 of an unknown asset).
        """
        template = "/docs/static/{name:path}" if path.startswith("/docs/static/") else path
        run = self._endpoints.get(template)
        if run is None:
            return False
        if scope["method"] not in ("GET", "HEAD"):
            await send_not_allowed(send, scope, ("GET", "HEAD"))
            return True
        response = await run(Request(scope, receive))
        await response(scope, receive, send)
        return True


def openapi_routes(
    spec_path: Path,
    *,
    title: str = "API",
    prefix: str = "",
    server_url: str | None = None,
    chain: Chain | None = None,
) -> list[Route]:
    """Routes serving an OpenAPI document at ``<prefix>/openapi.json``, its YAML
    and its Swagger UI page at ``<prefix>/docs`` (a :class:`DocsApp`), to add
    to an app at its root.

    Args:
        spec_path: The bundled JSON document.
        title: The page title.
        prefix: Where under the root (``""``, ``/rest``).
        server_url: As :class:`DocsApp`'s.
        chain: The service's chain: its access rules decide who reads the document.
    """
    app = DocsApp(spec_path, title=title, prefix=prefix, server_url=server_url)
    return _routes(app, prefix.rstrip("/"), _OPENAPI_PATHS, chain)
