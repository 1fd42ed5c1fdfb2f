"""An OpenAPI document's error responses, checked against what microlib can write its errors in.

The check is microlib's own (``microlib.http.check_error_schema``), which the app also runs when
it is built: a document it would refuse is refused when generating already.
"""

from __future__ import annotations

from typing import Any

from microlib_codegen._bundle import Bundled
from microlib_codegen._openapi_ops import METHODS

__all__ = ["error_response_problem"]


def error_response_problem(bundled: Bundled) -> str | None:
    """The line saying why microlib could not write its errors in an error response's JSON schema
    (the app would refuse it at start); None when it can in each."""
    from microlib.http import ErrorShapeError, check_error_schema

    doc = bundled.document
    for route, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            responses = ((item or {}).get(method) or {}).get("responses") or {}
            for status, response in responses.items():
                if not (str(status) == "default" or str(status)[:1] in "45"):
                    continue
                content = (_local(doc, response) or {}).get("content") or {}
                for media, body in content.items():
                    if "json" not in media or "problem+json" in media or "schema" not in body:
                        continue
                    where = ("paths", route, method, "responses", str(status), "content", media, "schema")
                    try:
                        check_error_schema(body["schema"], doc)
                    except ErrorShapeError as exc:
                        used = f"{'.'.join(where)}.{exc.path}"
                        declared = exc.declared
                        if declared is None:
                            return f"{bundled.at(where)}: {used}: {exc.reason}: {_REFUSED}"
                        # A schema many responses share ($ref) is edited where it is written.
                        return (
                            f"{bundled.at(declared)}: {'.'.join(map(str, declared))}: {exc.reason}: "
                            f"{_REFUSED} (at {used})"
                        )
    return None


_REFUSED = "microlib could not write its errors in this schema"


def _local(doc: dict[str, Any], node: Any) -> Any:
    """``node`` with its local ``$ref`` (``#/components/responses/X``) followed."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node
