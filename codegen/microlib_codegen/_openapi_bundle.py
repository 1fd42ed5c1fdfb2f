"""Bundle an OpenAPI document spread over several files into one.

Schemas reached through a ``$ref`` into another file are hoisted into
``components/schemas`` under their own name (the last segment of the
pointer), so the bundled document keeps named, reusable models; other
external targets (parameters, responses, request bodies) are inlined. Refs
inside the root document are kept. The result is what the running service
serves at ``/openapi.json`` and what the model generator reads.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

__all__ = ["BundleError", "bundle", "load_document"]

# Keys whose values are schemas (or maps / lists of schemas) in both 3.0 and 3.1.
_SCHEMA_VALUE_KEYS = frozenset(
    {"schema", "items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"}
)
_SCHEMA_LIST_KEYS = frozenset({"oneOf", "anyOf", "allOf", "prefixItems"})
_SCHEMA_MAP_KEYS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})


class BundleError(ValueError):
    """A document cannot be loaded or one of its ``$ref``s does not resolve."""


def load_document(path: Path) -> Any:
    """Read a YAML or JSON document.

    Args:
        path: The file to read.

    Returns:
        The parsed document.

    Raises:
        BundleError: The file is missing or is not valid YAML/JSON.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise BundleError(f"{where}: invalid YAML/JSON: {exc}") from exc


def bundle(root: Path) -> dict[str, Any]:
    """Return the document at ``root`` with every external ``$ref`` resolved.

    Args:
        root: The OpenAPI document's entry file.

    Returns:
        A self-contained document whose only refs are ``#/...`` pointers.

    Raises:
        BundleError: A file or a ``$ref`` target cannot be found.
    """
    return _Bundler(root.resolve()).run()


class _Bundler:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[Path, Any] = {root: load_document(root)}
        self.doc: dict[str, Any] = copy.deepcopy(self.files[root])
        if not isinstance(self.doc, dict):
            raise BundleError(f"{root}: an OpenAPI document must be a mapping")
        schemas = self.doc.setdefault("components", {}).setdefault("schemas", {})
        # (file, pointer) -> component name; root components keep their names.
        self.hoisted: dict[tuple[Path, str], str] = {
            (root, f"/components/schemas/{name}"): name for name in schemas
        }
        self.schemas: dict[str, Any] = schemas

    def run(self) -> dict[str, Any]:
        self.doc = self._walk(self.doc, self.root, schema=False)
        if not self.schemas:
            del self.doc["components"]["schemas"]
        return self.doc

    def _walk(self, node: Any, base: Path, *, schema: bool) -> Any:
        if isinstance(node, list):
            return [self._walk(item, base, schema=schema) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._ref(node, ref, base, schema=schema)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _SCHEMA_VALUE_KEYS and isinstance(value, dict):
                out[key] = self._walk(value, base, schema=True)
            elif key in _SCHEMA_LIST_KEYS and isinstance(value, list):
                out[key] = [self._walk(v, base, schema=True) for v in value]
            elif key in _SCHEMA_MAP_KEYS and isinstance(value, dict) and (schema or key != "properties"):
                out[key] = {k: self._walk(v, base, schema=True) for k, v in value.items()}
            elif key == "discriminator" and schema and isinstance(value, dict):
                out[key] = self._discriminator(value, base)
            elif key == "schemas" and base == self.root and value is self.schemas:
                # Hoisted schemas are added to the same dict while it is walked.
                for name, sub in list(value.items()):
                    self.schemas[name] = self._walk(sub, base, schema=True)
                out[key] = self.schemas
            else:
                out[key] = self._walk(value, base, schema=schema)
        return out

    def _discriminator(self, value: dict[str, Any], base: Path) -> dict[str, Any]:
        mapping = value.get("mapping")
        if not isinstance(mapping, dict):
            return dict(value)
        rewritten = {
            key: self._ref({"$ref": target}, target, base, schema=True)["$ref"]
            for key, target in mapping.items()
        }
        return {**value, "mapping": rewritten}

    def _ref(self, node: dict[str, Any], ref: str, base: Path, *, schema: bool) -> Any:
        file_part, _, pointer = ref.partition("#")
        target_file = (base.parent / unquote(file_part)).resolve() if file_part else base
        if target_file == self.root and not file_part and base == self.root:
            return dict(node)
        key = (target_file, pointer)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if schema or pointer.startswith("/components/schemas/"):
            name = self.hoisted.get(key)
            if name is None:
                name = self._free_name(pointer.rsplit("/", 1)[-1] or target_file.stem)
                self.hoisted[key] = name
                self.schemas[name] = {}  # reserve before walking: recursive schemas
                self.schemas[name] = self._walk(
                    self._resolve(target_file, pointer, ref, base), target_file, schema=True
                )
            return {"$ref": f"#/components/schemas/{name}", **siblings}
        return self._walk(self._resolve(target_file, pointer, ref, base), target_file, schema=False)

    def _free_name(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self.schemas:
            name, n = f"{wanted}{n}", n + 1
        return name

    def _resolve(self, file: Path, pointer: str, ref: str, base: Path) -> Any:
        if file not in self.files:
            self.files[file] = load_document(file)
        node = self.files[file]
        for raw in pointer.split("/")[1:] if pointer else []:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise BundleError(f"{base}: $ref {ref!r} does not resolve: no {part!r} in {file.name}")
        return copy.deepcopy(node)
