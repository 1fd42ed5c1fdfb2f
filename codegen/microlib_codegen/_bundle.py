"""Bundle an OpenAPI or AsyncAPI document spread over several files into one.

Schemas reached through a ``$ref`` into another file are hoisted into
``components/schemas`` under their own name (the last segment of the
pointer), so the bundled document keeps named, reusable models; other
external targets (parameters, responses, messages, channels) are inlined.
Refs inside the root document are kept. The result is what the running
service serves (``/openapi.json``, ``/asyncapi.json``) and what the model
generator reads.

Every file is read with the line of each of its nodes, and the bundle
remembers where each of its nodes came from, so a problem found in the
bundled document is reported at the file and line that wrote it
(:meth:`Bundled.where`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "SCHEMA_MAP_KEYS",
    "VALUE_KEYS",
    "BundleError",
    "Bundled",
    "bundle",
    "invalid_yaml",
    "load_document",
    "read_alone",
    "relative_to_cwd",
    "walk_nodes",
]

# Keys whose values are schemas (or maps / lists of schemas) in both 3.0 and 3.1.
_SCHEMA_VALUE_KEYS = frozenset(
    {"schema", "items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"}
)
_SCHEMA_LIST_KEYS = frozenset({"oneOf", "anyOf", "allOf", "prefixItems"})
VALUE_KEYS = frozenset({"default", "enum", "const", "example", "examples"})
"""Keys whose values are data, not schemas, whatever keys they hold."""
SCHEMA_MAP_KEYS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
"""Keys whose values map names to schemas."""

_BOOL = "tag:yaml.org,2002:bool"
# A $ref naming a URL (https://..., file:...), not a path.
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")

Path_ = tuple[str | int, ...]


class BundleError(ValueError):
    """A document cannot be loaded or one of its ``$ref``s does not resolve."""


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (``NO`` stays a string) and no dates: JSON has neither."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _string(loader: yaml.SafeLoader, node: ScalarNode) -> str:
    # JSON writes a character beyond U+FFFF escaped as a surrogate pair (`"\ud83c\udf03"`, as
    # json.dumps does), which YAML's escapes read as two lone surrogates: paired again here,
    # as a JSON parser reads them (they broke every later encoding in a traceback).
    value = str(loader.construct_scalar(node))
    if value.isascii() or not any("\ud800" <= c <= "\udfff" for c in value):
        return value
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")


_Loader.add_constructor("tag:yaml.org,2002:str", _string)


class _FastLoader(getattr(yaml, "CSafeLoader", _Loader)):  # type: ignore[misc]
    """:class:`_Loader`'s reading on libyaml's parser where PyYAML has it: GitHub's 13 MB
    description composes in 8 s of CPU there, 33 s in the pure-Python one (same nodes, same lines)."""


_FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
_FastLoader.add_constructor("tag:yaml.org,2002:str", _string)


def _compose(text: str, loader_class: type[Any]) -> tuple[Any, Node | None]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def _read(path: Path) -> tuple[Any, dict[Path_, int]]:
    """The document at ``path`` and the 1-based line of each node, by JSON path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(f"{relative_to_cwd(path)}: cannot read: {exc.strerror}") from exc
    try:
        data, node = _compose(text, _FastLoader)
    except yaml.YAMLError:
        # Said as the pure-Python parser says it: its messages name the construct that failed.
        try:
            data, node = _compose(text, _Loader)
        except yaml.YAMLError as exc:
            raise BundleError(invalid_yaml(exc, str(relative_to_cwd(path)))) from exc
    lines: dict[Path_, int] = {}
    if node is not None:
        _lines(node, (), lines)
    return data, lines


def invalid_yaml(exc: yaml.YAMLError, source: str) -> str:
    """``source:line:column: invalid YAML/JSON: what``, one line at the problem: ``str(exc)``
    spans several, quoting the text with a caret."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"{source}: invalid YAML/JSON: {exc}"
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = " ".join(filter(None, (exc.context, exc.problem))) or str(exc)
    return f"{where}: invalid YAML/JSON: {problem}"


def _lines(node: Node, path: Path_, out: dict[Path_, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            out[child] = key.start_mark.line + 1
            _lines(value, child, out)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


def read_alone(path: Path) -> Bundled:
    """The document at ``path`` with the line of each of its nodes, no ``$ref`` followed: a
    contract that is one file (a jobs contract), whose mistakes :meth:`Bundled.located` names.

    Raises:
        BundleError: The file is missing or is not valid YAML/JSON.
    """
    data, lines = _read(path)
    return Bundled(data, {id(data): (path, ())}, {path: lines})


def load_document(path: Path) -> Any:
    """Read a YAML or JSON document.

    Args:
        path: The file to read.

    Returns:
        The parsed document.

    Raises:
        BundleError: The file is missing or is not valid YAML/JSON.
    """
    return _read(path)[0]


@dataclass
class Bundled:
    """A bundled document and where each of its parts was written.

    Args:
        document: The self-contained document.
    """

    document: dict[str, Any]
    _origin: dict[int, tuple[Path, Path_]] = field(default_factory=dict, repr=False)
    _lines: dict[Path, dict[Path_, int]] = field(default_factory=dict, repr=False)

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file the document was read from: its entry file and each one a ``$ref`` reached."""
        return tuple(self._lines)

    def origin(self, path: Sequence[str | int]) -> tuple[Path, Path_]:
        """The file and the JSON path in it that wrote the node at ``path`` of
        :attr:`document` (a node inlined from another file names that file)."""
        node: Any = self.document
        file, source = self._origin[id(node)]
        rest: Path_ = ()
        for part in path:
            child = _step(node, part)
            if child is _NOWHERE:
                rest = (*rest, part)
                break
            node = child
            origin = self._origin.get(id(node)) if isinstance(node, dict | list) else None
            if origin is None:
                rest = (*rest, part)
            else:
                (file, source), rest = origin, ()
        return file, (*source, *rest)

    def where(self, path: Sequence[str | int]) -> tuple[Path, int]:
        """The file and line that wrote the node at ``path`` of :attr:`document`
        (or its nearest enclosing node)."""
        file, full = self.origin(path)
        lines = self._lines[file]
        for end in range(len(full), -1, -1):
            line = lines.get(full[:end])
            if line is not None:
                return file, line
        return file, 1

    def complete(self, path: Sequence[str | int], value: Any) -> Path_:
        """The path from the document's root of a node reported at ``path``
        relative to some enclosing node, holding ``value``.

        A JSON Schema validator that descends through ``$dynamicRef`` (the
        OpenAPI 3.1 schema dialect) reports paths from the schema object, not
        from the root; the first node, in document order, under which
        ``path`` leads to ``value`` is taken. ``path`` itself when it already
        leads there from the root, or when nothing matches.
        """
        wanted = tuple(path)
        for prefix, node in walk_nodes(self.document, ()):
            found = _follow(node, wanted)
            if found is not _NOWHERE and found == value:
                return (*prefix, *wanted)
        return wanted

    def path_of(self, node: Any) -> Path_:
        """The path from the document's root of ``node``, an object of the document found by
        identity (the first place it is, in document order), or () when it is not there."""
        for path, candidate in walk_nodes(self.document, ()):
            if candidate is node:
                return path
        return ()

    def at(self, path: Sequence[str | int]) -> str:
        """``file:line`` of the node at ``path``, the file relative to the working folder if below it."""
        file, line = self.where(path)
        return f"{relative_to_cwd(file)}:{line}"

    def located(self, path: Sequence[str | int], reason: str) -> str:
        """A warning's or an error's line: ``file:line: json.path: reason`` of the node at ``path``."""
        dotted = ""
        for part in path:
            dotted += f"[{part}]" if isinstance(part, int) else (f".{part}" if dotted else str(part))
        return f"{self.at(path)}: {dotted or '(root)'}: {reason}"


_NOWHERE = object()


def walk_nodes(node: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    """Every container node with its path, the root first (document order)."""
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        if isinstance(child, dict | list):
            yield from walk_nodes(child, (*path, key))


def _follow(node: Any, path: Path_) -> Any:
    for part in path:
        node = _step(node, part)
        if node is _NOWHERE:
            break
    return node


def _step(node: Any, part: str | int) -> Any:
    """The child ``part`` names (a key, or an index into a list), or ``_NOWHERE``."""
    if isinstance(node, dict) and str(part) in node:
        return node[str(part)]
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return _NOWHERE


def relative_to_cwd(file: Path) -> Path:
    """``file`` relative to the working folder if below it, as every message names a contract."""
    try:
        return file.relative_to(Path.cwd())
    except ValueError:
        return file


def bundle(
    root: Path, *, schema_keys: frozenset[str] = frozenset(), foreign: Callable[[str], bool] | None = None
) -> Bundled:
    """Return the document at ``root`` with every external ``$ref`` resolved.

    Args:
        root: The document's entry file.
        schema_keys: Keys whose values are schemas besides JSON Schema's own
            (AsyncAPI: ``payload``, ``headers``), so refs under them are hoisted.
        foreign: Whether a ``schemaFormat`` names schemas other than JSON
            Schema (Avro): an object's ``payload`` or ``schema`` in such a
            format is inlined where it is used, its refs followed, nothing hoisted.

    Returns:
        A self-contained document whose only refs are ``#/...`` pointers,
        with the origin of each node.

    Raises:
        BundleError: A file or a ``$ref`` target cannot be found.
    """
    return _Bundler(root.resolve(), schema_keys, foreign).run()


class _Bundler:
    def __init__(
        self, root: Path, schema_keys: frozenset[str], foreign: Callable[[str], bool] | None
    ) -> None:
        self.root = root
        self.foreign = foreign
        self.value_keys = _SCHEMA_VALUE_KEYS | schema_keys
        # Keys that start a schema anywhere; the others only inside one (an
        # AsyncAPI 2 ``message: {oneOf: [...]}`` lists messages, not schemas).
        self.entry_keys = {"schema"} | schema_keys
        data, lines = _read(root)
        self.files: dict[Path, Any] = {root: data}
        self.result = Bundled({}, _lines={root: lines})
        self.doc: dict[str, Any] = copy.deepcopy(data)
        if not isinstance(self.doc, dict):
            raise BundleError(f"{root}: a contract document must be a mapping")
        components = self.doc.get("components", {})
        if not isinstance(components, dict):
            raise BundleError(f"{root}:{lines.get(('components',), 1)}: components must be a mapping")
        # What bundling adds to hold hoisted schemas, removed again if none were.
        self.made = (
            "components" if "components" not in self.doc else "" if "schemas" in components else "schemas"
        )
        schemas = self.doc.setdefault("components", {}).setdefault("schemas", {})
        # (file, pointer) -> component name; root components keep their names.
        self.hoisted: dict[tuple[Path, str], str] = {
            (root, f"/components/schemas/{name}"): name for name in schemas
        }
        self.schemas: dict[str, Any] = schemas
        self.own = set(schemas)

    def run(self) -> Bundled:
        self.doc = self._walk(self.doc, self.root, (), schema=False)
        if not self.schemas and self.made == "components":
            del self.doc["components"]
        elif not self.schemas and self.made == "schemas":
            del self.doc["components"]["schemas"]
        self.result.document = self.doc
        return self.result

    def _keep(self, out: Any, base: Path, source: Path_) -> Any:
        # A node inlined from another file keeps the origin it got there.
        self.result._origin.setdefault(id(out), (base, source))
        return out

    def _walk(self, node: Any, base: Path, source: Path_, *, schema: bool) -> Any:
        if isinstance(node, list):
            return self._keep(
                [self._walk(item, base, (*source, i), schema=schema) for i, item in enumerate(node)],
                base,
                source,
            )
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._keep(self._ref(node, ref, base, source, schema=schema), base, source)
        out: dict[str, Any] = {}
        written = node.get("schemaFormat")
        foreign = self.foreign is not None and isinstance(written, str) and self.foreign(written)
        for key, value in node.items():
            at = (*source, key)
            if foreign and key in ("payload", "schema"):
                # Not JSON Schema (Avro): what it refers to is inlined, never hoisted as a model.
                out[key] = self._walk(value, base, at, schema=False)
            elif key in self.value_keys and isinstance(value, dict) and (schema or key in self.entry_keys):
                out[key] = self._walk(value, base, at, schema=True)
            elif key in _SCHEMA_LIST_KEYS and isinstance(value, list) and schema:
                out[key] = self._keep(
                    [self._walk(v, base, (*at, i), schema=True) for i, v in enumerate(value)], base, at
                )
            elif key in SCHEMA_MAP_KEYS and isinstance(value, dict) and (schema or key != "properties"):
                out[key] = self._keep(
                    {k: self._walk(v, base, (*at, k), schema=True) for k, v in value.items()}, base, at
                )
            elif key == "discriminator" and schema and isinstance(value, dict):
                out[key] = self._discriminator(value, base, at)
            elif key == "schemas" and base == self.root and value is self.schemas:
                # Hoisted schemas are added to the same dict while it is
                # walked, and were walked where they were written.
                for name, sub in list(value.items()):
                    if name in self.own:
                        self.schemas[name] = self._walk(sub, base, (*at, name), schema=True)
                out[key] = self._keep(self.schemas, base, at)
            else:
                out[key] = self._walk(value, base, at, schema=schema)
        return self._keep(out, base, source)

    def _discriminator(self, value: dict[str, Any], base: Path, source: Path_) -> dict[str, Any]:
        mapping = value.get("mapping")
        if not isinstance(mapping, dict):
            return dict(value)
        rewritten = {
            key: self._ref({"$ref": target}, ref, base, (*source, "mapping", key), schema=True)["$ref"]
            for key, target in mapping.items()
            for ref in (self._mapping_ref(target, base),)
        }
        return {**value, "mapping": rewritten}

    def _mapping_ref(self, target: str, base: Path) -> str:
        """A mapping value is a schema name or a reference (OpenAPI 3.0.3 and 3.1, Discriminator
        Object): a name of the ``components.schemas`` of the file it is written in is that schema."""
        components = self.files[base].get("components") if isinstance(self.files[base], dict) else None
        schemas = components.get("schemas") if isinstance(components, dict) else None
        if isinstance(schemas, dict) and target in schemas and not set("/#") & set(target):
            return f"#/components/schemas/{target}"
        return target

    def _ref(self, node: dict[str, Any], ref: str, base: Path, source: Path_, *, schema: bool) -> Any:
        file_part, _, pointer = ref.partition("#")
        if _REMOTE.match(file_part):
            raise BundleError(
                f"{self._ref_line(base, source)}: $ref {ref!r} is remote: codegen reads local files only "
                "(save it next to the document and refer to it by its relative path)"
            )
        target_file = (base.parent / unquote(file_part)).resolve() if file_part else base
        if target_file == self.root and not file_part and base == self.root:
            self._locate(target_file, pointer, ref, base, source)  # kept as is, but it must resolve
            return dict(node)
        key = (target_file, pointer)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if schema or pointer.startswith("/components/schemas/"):
            name = self.hoisted.get(key)
            if name is None:
                name = self._free_name(pointer.rsplit("/", 1)[-1] or target_file.stem)
                self.hoisted[key] = name
                self.schemas[name] = {}  # reserve before walking: recursive schemas
                target, parts = self._resolve(target_file, pointer, ref, base, source)
                self.schemas[name] = self._walk(target, target_file, parts, schema=True)
            return {"$ref": f"#/components/schemas/{name}", **siblings}
        target, parts = self._resolve(target_file, pointer, ref, base, source)
        return self._walk(target, target_file, parts, schema=False)

    def _free_name(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self.schemas:
            name, n = f"{wanted}{n}", n + 1
        return name

    def _resolve(self, file: Path, pointer: str, ref: str, base: Path, source: Path_) -> tuple[Any, Path_]:
        node, parts = self._locate(file, pointer, ref, base, source)
        return copy.deepcopy(node), parts

    def _locate(self, file: Path, pointer: str, ref: str, base: Path, source: Path_) -> tuple[Any, Path_]:
        """The node ``pointer`` names in ``file`` (not a copy), or a BundleError
        naming the file, line and JSON path of the ``$ref``."""
        at = ".".join(str(p) for p in (*source, "$ref"))
        if file not in self.files:
            if not file.is_file():
                # Named at the $ref that wants it: the document may refer to many files.
                raise BundleError(
                    f"{self._ref_line(base, source)}: $ref {ref!r} does not resolve: no file "
                    f"{relative_to_cwd(file)} (at {at})"
                )
            data, lines = _read(file)
            self.files[file] = data
            self.result._lines[file] = lines
        node = self.files[file]
        parts: Path_ = ()
        for raw in pointer.split("/")[1:] if pointer else []:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node, parts = node[part], (*parts, part)
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node, parts = node[int(part)], (*parts, int(part))
            else:
                raise BundleError(
                    f"{self._ref_line(base, source)}: $ref {ref!r} does not resolve: no {part!r} in "
                    f"{file.name} (at {at})"
                )
        return node, parts

    def _ref_line(self, base: Path, source: Path_) -> str:
        """``file:line`` of the ``$ref`` at ``source`` in ``base``."""
        return f"{relative_to_cwd(base)}:{self.result._lines[base].get((*source, '$ref'), 1)}"
