"""Serve an OpenAPI document and a Swagger UI whose assets are local.

``/openapi.json`` is the document as written (bundled into one file by
``microlib codegen``), ``/openapi.yaml`` the same in YAML, ``/docs`` a
Swagger UI page whose scripts and styles are package data of microlib
(swagger-ui-dist 5, which renders OpenAPI 3.1): no CDN, so the page works
offline.
"""

from __future__ import annotations

import html
import json
import mimetypes
from pathlib import Path
from typing import Any

import yaml

from microlib.http._responder import Send, send_bytes

__all__ = ["DocsApp", "swagger_ui_dir"]

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


def swagger_ui_dir() -> Path:
    """The directory of the Swagger UI assets shipped with microlib.

    Returns:
        ``microlib/http/_static/swagger-ui``.
    """
    return Path(__file__).with_name("_static") / "swagger-ui"


class DocsApp:
    """Serves one document and its UI under ``prefix``.

    Args:
        spec_path: The bundled JSON document.
        title: The page title.
        prefix: The path the documents are served under (``""`` or
            ``/api``), for the links of the page.
    """

    def __init__(self, spec_path: Path, *, title: str = "API", prefix: str = "") -> None:
        raw = spec_path.read_bytes()
        document = json.loads(raw)
        self._json = raw
        self._yaml = yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()
        self._prefix = prefix.rstrip("/")
        self._static_dir = swagger_ui_dir()
        page = _PAGE.format(
            title=html.escape(f"{title} - Swagger UI"),
            static=html.escape(f"{self._prefix}/docs/static"),
            spec=json.dumps(f"{self._prefix}/openapi.json"),
        )
        self._page = page.encode()

    async def __call__(self, scope: Any, receive: Any, send: Send) -> None:
        """Serve one ASGI request; 404 for any other path."""
        path = scope["path"]
        root = scope.get("root_path") or self._prefix
        if root and path.startswith(root):
            path = path[len(root) :]
        if not await self.serve(scope, receive, send, path):
            await send_bytes(send, 404, b"Not Found", "text/plain")

    async def serve(self, scope: Any, receive: Any, send: Send, path: str) -> bool:
        """Serve the request if its path is one of the documents.

        Args:
            scope: The ASGI scope.
            receive: The ASGI receive callable.
            send: The ASGI send callable.
            path: The request path relative to where the app is served.

        Returns:
            Whether the request was served.
        """
        if scope["method"] not in ("GET", "HEAD"):
            return False
        if path == "/openapi.json":
            await send_bytes(send, 200, self._json, "application/json")
        elif path == "/openapi.yaml":
            await send_bytes(send, 200, self._yaml, "application/yaml")
        elif path in ("/docs", "/docs/"):
            await send_bytes(send, 200, self._page, "text/html; charset=utf-8")
        elif path.startswith("/docs/static/") and path[13:] in _ASSETS:
            name = path[13:]
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            await send_bytes(
                send,
                200,
                (self._static_dir / name).read_bytes(),
                media,
                [(b"cache-control", b"max-age=86400")],
            )
        else:
            return False
        return True
