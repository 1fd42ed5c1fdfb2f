"""Request and response views of a document's schemas (``readOnly`` / ``writeOnly``).

A property marked ``readOnly`` is sent by the server only, one marked
``writeOnly`` by the client only (OpenAPI 3.0 and 3.1), so a ``required``
on either holds in one direction. Only the copy the models are generated
from is changed, the served document is left as written:

- request bodies read a request view: readOnly properties are not required.
  One sent anyway is accepted if its schema holds (clients often send back
  what they read; the specification says SHOULD NOT, not MUST NOT), and the
  handler decides what to do with it. A component schema whose request view
  differs gets a ``<name>-Input`` twin (the name the proto path gives its
  request schemas), and request bodies refer to it;
- every other schema (responses, the component itself) is the response
  view: writeOnly properties are not required.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from microlib_codegen._openapi_ops import METHODS, free_name

__all__ = ["split_views"]

_COMPONENT = "#/components/schemas/"


def split_views(doc: dict[str, Any]) -> None:
    """Give request bodies their request view and the rest the response view (in place).

    Args:
        doc: A bundled document, the copy the model generator reads.
    """
    schemas: dict[str, Any] = (doc.get("components") or {}).get("schemas") or {}
    differ = _differing(schemas)
    twins = {name: free_name(f"{name}-Input", set(schemas)) for name in sorted(differ)}

    def request(node: Any) -> Any:
        return _view(node, "readOnly", rename=twins)

    bodies = _request_bodies(doc)
    originals = {name: copy.deepcopy(schemas[name]) for name in twins}
    for content in bodies:
        content["schema"] = request(content["schema"])
    # The response view everywhere else, before the twins exist (they keep writeOnly required).
    _response_view(doc, skip={id(c) for c in bodies})
    for name, twin in twins.items():
        schemas[twin] = request(originals[name])


def _marked(prop: Any, flag: str) -> bool:
    return isinstance(prop, dict) and prop.get(flag) is True


def _walk(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, visit)
    elif isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)


def _differing(schemas: dict[str, Any]) -> set[str]:
    """The component schemas whose request view is not their response view.

    One differs when it requires a readOnly or writeOnly property, or refers
    to a schema that differs.
    """
    refs: dict[str, set[str]] = {}
    differ: set[str] = set()
    for name, schema in schemas.items():
        found: set[str] = set()

        def visit(node: dict[str, Any], name: str = name, found: set[str] = found) -> None:
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_COMPONENT):
                found.add(ref[len(_COMPONENT) :].replace("~1", "/").replace("~0", "~"))
            props = node.get("properties")
            if isinstance(props, dict):
                required = node.get("required") or []
                if any(
                    _marked(props.get(key), "readOnly") or _marked(props.get(key), "writeOnly")
                    for key in required
                ):
                    differ.add(name)

        _walk(schema, visit)
        refs[name] = found
    grown = True
    while grown:
        more = {name for name, found in refs.items() if name not in differ and found & differ}
        differ |= more
        grown = bool(more)
    return differ


def _view(node: Any, flag: str, *, rename: dict[str, str]) -> Any:
    """A copy of ``node`` where properties marked ``flag`` are not required,
    and a ``$ref`` to a renamed schema follows it."""
    node = copy.deepcopy(node)

    def renamed(ref: Any) -> Any:
        if isinstance(ref, str) and ref.startswith(_COMPONENT):
            target = ref[len(_COMPONENT) :].replace("~1", "/").replace("~0", "~")
            if target in rename:
                return _COMPONENT + rename[target].replace("~", "~0").replace("/", "~1")
        return ref

    def visit(item: dict[str, Any]) -> None:
        if "$ref" in item:
            item["$ref"] = renamed(item["$ref"])
        mapping = (
            item.get("discriminator", {}).get("mapping")
            if isinstance(item.get("discriminator"), dict)
            else None
        )
        if isinstance(mapping, dict):
            # A tagged union's members are named here too, not only in oneOf.
            item["discriminator"]["mapping"] = {tag: renamed(ref) for tag, ref in mapping.items()}
        props = item.get("properties")
        if not isinstance(props, dict):
            return
        marked = [key for key, prop in props.items() if _marked(prop, flag)]
        if not marked:
            return
        if isinstance(item.get("required"), list):
            item["required"] = [k for k in item["required"] if k not in marked]
            if not item["required"]:
                del item["required"]

    _walk(node, visit)
    return node


def _request_bodies(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every media type object of a request body, with a schema."""
    found: list[dict[str, Any]] = []

    def add(body: Any) -> None:
        if isinstance(body, dict):
            for content in (body.get("content") or {}).values():
                if isinstance(content, dict) and "schema" in content:
                    found.append(content)

    for body in ((doc.get("components") or {}).get("requestBodies") or {}).values():
        add(body)

    def visit(node: dict[str, Any]) -> None:
        for method in METHODS:
            op = node.get(method)
            if isinstance(op, dict) and isinstance(op.get("responses"), dict):
                add(op.get("requestBody"))

    _walk(doc.get("paths"), visit)
    _walk(doc.get("webhooks"), visit)
    return found


def _response_view(doc: dict[str, Any], *, skip: set[int]) -> None:
    """writeOnly properties are not required, anywhere but in ``skip`` (request bodies)."""
    schemas = (doc.get("components") or {}).get("schemas") or {}
    for name, schema in schemas.items():
        schemas[name] = _view(schema, "writeOnly", rename={})

    def visit(node: dict[str, Any]) -> None:
        if id(node) not in skip and isinstance(node.get("schema"), dict):
            node["schema"] = _view(node["schema"], "writeOnly", rename={})

    for part in ("paths", "webhooks"):
        _walk(doc.get(part), visit)
