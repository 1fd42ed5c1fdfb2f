"""Validate an AsyncAPI document against the official JSON Schemas.

The schemas are the npm package ``@asyncapi/specs`` (package.json pins it,
``npm install`` puts it in ``node_modules``), found from the document's
folder, the project folder or the working folder upwards, as ``buf`` is.
Each problem is reported at the file and line that wrote it, with its JSON
path: ``contracts/orders.yaml:12: operations.placeOrder.action: 'sned' is
not one of ['send', 'receive']``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from microlib_codegen._bundle import Bundled
from microlib_codegen.errors import CodegenError

__all__ = ["VERSIONS", "checked_as", "find_schema", "problems"]

VERSIONS = ("2.0.0", "2.1.0", "2.2.0", "2.3.0", "2.4.0", "2.5.0", "2.6.0", "3.0.0", "3.1.0")
_SPECS = Path("node_modules", "@asyncapi", "specs", "schemas")


def checked_as(version: str) -> str:
    """The version whose schema checks a document of ``version``, and as which it
    is read: 2.6.0 for every 2.x. Minor 2.x versions only add to 2.0, and the
    older schemas refuse valid documents (2.0 to 2.2: a channel parameter that
    is a ``$ref`` matches two branches of a ``oneOf``)."""
    return "2.6.0" if version.startswith("2.") else version


def find_schema(version: str, starts: Iterable[Path]) -> Path:
    """The official JSON Schema of AsyncAPI ``version``.

    Raises:
        CodegenError: ``@asyncapi/specs`` is not installed anywhere above ``starts``.
    """
    seen: set[Path] = set()
    for start in starts:
        for folder in (start.resolve(), *start.resolve().parents):
            if folder in seen:
                continue
            seen.add(folder)
            candidate = folder / _SPECS / f"{version}.json"
            if candidate.is_file():
                return candidate
    raise CodegenError(
        "the AsyncAPI JSON Schemas are not installed: run `npm install` (package.json pins "
        "@asyncapi/specs) or `npm install --save-dev @asyncapi/specs` in the project folder"
    )


@functools.cache
def _validator(schema_file: Path) -> Any:
    from jsonschema import Draft7Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    # The file bundles every definition under its own $id: crawling the
    # registry makes those ids resolvable without any network access.
    registry = Registry().with_resource(schema["$id"], DRAFT7.create_resource(schema)).crawl()
    return Draft7Validator(schema, registry=registry)


def _leaves(error: Any) -> Iterator[Any]:
    if not error.context:
        yield error
    for sub in error.context:
        yield from _leaves(sub)


def _closest(error: Any) -> Any:
    """The most specific cause of a ``oneOf``/``anyOf`` failure: the deepest
    leaf, a real mismatch before "is not a Reference Object"."""

    def rank(leaf: Any) -> tuple[int, bool]:
        is_ref = leaf.validator == "required" and "'$ref'" in leaf.message
        return (-len(leaf.absolute_path), is_ref)

    return min(_leaves(error), key=rank)


def _message(leaf: Any) -> str:
    """The leaf's message; a field the object does not take is named as such,
    with the fields it does take (jsonschema's ``'schema' does not match any of
    the regexes: '^x-...'`` says neither)."""
    known = leaf.schema.get("properties")
    if leaf.validator != "additionalProperties" or leaf.validator_value is not False or not known:
        return str(leaf.message)
    patterns = [re.compile(p) for p in leaf.schema.get("patternProperties") or {}]
    unknown = [k for k in leaf.instance if k not in known and not any(p.search(k) for p in patterns)]
    extensions = " or x- extensions" if patterns else ""
    return f"unknown field(s) {', '.join(map(repr, unknown))}: expected {', '.join(known)}{extensions}"


def problems(bundled: Bundled, schema_file: Path, version: str) -> list[str]:
    """Every way the bundled document, taken as AsyncAPI ``version``, breaks the
    schema, one line each, sorted by JSON path.

    Returns:
        ``file:line: json.path: message`` lines; empty when the document is valid.
    """
    found: dict[str, tuple[tuple[str, ...], str]] = {}
    for error in _validator(schema_file).iter_errors({**bundled.document, "asyncapi": version}):
        leaf = _closest(error)
        path = list(leaf.absolute_path)
        line = bundled.located(path, _message(leaf))
        found.setdefault(line, (tuple(str(p) for p in path), line))
    return [line for _key, line in sorted(found.values())]
