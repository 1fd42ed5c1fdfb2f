"""Where configuration values come from.

A :class:`ConfigSource` produces a :class:`Layer`: a tree of :class:`Leaf`
values, each knowing its origin, plus the problems met while reading.
The loader merges layers in precedence order (later wins):
:class:`MappingSource` (values given in code), :class:`FileSource` (YAML or
TOML, one per file), :class:`EnvSource` (``MICROLIB__HTTP__PORT``) and
:class:`OverrideSource` (``--set http.port=8081``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from microlib.config._interpolation import InterpolationError, interpolate
from microlib.config._parsed import ParsedFile, ParseError
from microlib.config._paths import dotted, parse_dotted
from microlib.config.errors import Problem

__all__ = [
    "ConfigSource",
    "EnvSource",
    "FileSource",
    "Layer",
    "Leaf",
    "MappingSource",
    "OverrideSource",
]

_SUFFIXES = (".toml", ".yaml", ".yml")

# Environment and --set values that read the same whatever YAML makes of them, so
# PyYAML (slow to import) loads only for the others: a decimal integer, and a
# word, host name or dotted number that no YAML resolver of the Loader claims.
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")
_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*|[0-9]+(?:\.[0-9]+){2,}")
_YAML_WORDS = frozenset({"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL"})


@dataclass(frozen=True, slots=True)
class Leaf:
    """One value and where it came from.

    Args:
        value: The value (a scalar or a list; mappings are split into leaves).
        origin: ``file.yaml:12``, ``env MICROLIB__HTTP__PORT``,
            ``--set http.port=...`` or ``code``.
        sensitive: A sensitive resolver produced it: always masked.
        raw: The text before it was read as a YAML scalar (env and ``--set``),
            used when the field wants a string.
    """

    value: Any
    origin: str
    sensitive: bool = False
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class Layer:
    """The values of one source, as a nested mapping of :class:`Leaf`.

    Args:
        tree: Nested ``dict`` whose non-mapping values are leaves.
        problems: What could not be read (bad syntax, unset variables...).
        keys: Where the key of a mapping was set, by path, for a source that
            knows (a file's line); a mapping not listed is said to be set
            where its first value is.
    """

    tree: dict[str, Any] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    keys: dict[tuple[str, ...], str] = field(default_factory=dict)


@runtime_checkable
class ConfigSource(Protocol):
    """Anything that can produce a layer of configuration."""

    def load(self) -> Layer:
        """Read the source now; problems are returned, not raised."""
        ...


class _LayerBuilder:
    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.keys: dict[tuple[str, ...], str] = {}

    def add(self, path: tuple[str, ...], leaf: Leaf) -> None:
        """Insert ``leaf`` at ``path``, splitting a non-empty mapping into leaves.

        An empty mapping stays one leaf, so that it replaces the mapping below it.
        """
        if isinstance(leaf.value, dict) and leaf.value:
            for key, value in leaf.value.items():
                self.add((*path, str(key)), Leaf(value, leaf.origin, leaf.sensitive))
            return
        node = self.tree
        for depth, key in enumerate(path[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                self._conflict(path, leaf, child, path[: depth + 1])
                return
            node = child
        existing = node.get(path[-1])
        if existing is not None:
            self._conflict(path, leaf, existing, path)
        else:
            node[path[-1]] = leaf

    def _conflict(self, path: tuple[str, ...], leaf: Leaf, other: Any, at: tuple[str, ...]) -> None:
        where = other.origin if isinstance(other, Leaf) else "nested keys"
        self.problems.append(
            Problem(dotted(path), leaf.origin, "conflict", f"conflicts with {dotted(at)} set by {where}")
        )

    def build(self) -> Layer:
        return Layer(self.tree, tuple(self.problems), self.keys)


class MappingSource:
    """Values given in code, e.g. a service's name.

    Args:
        data: A nested mapping of keys to values.
        origin: How the values are described in reports.
    """

    def __init__(self, data: Mapping[str, Any], origin: str = "code") -> None:
        self._data = data
        self._origin = origin

    def load(self) -> Layer:
        """The mapping as a layer."""
        builder = _LayerBuilder()
        for key, value in self._data.items():
            builder.add((str(key),), Leaf(_plain(value), self._origin))
        return builder.build()


class FileSource:
    """A YAML (``.yaml``, ``.yml``) or TOML (``.toml``) file.

    String values may reference ``${ENV_VAR}``, ``${ENV_VAR:default}`` or a
    registered resolver ``${name:arg}``; ``$${`` is a literal ``${``.

    Args:
        path: The file, named in origins as given; it is read through its
            absolute path taken now, so a later change of directory does not
            break a reload.
        environ: Variables for ``${...}`` references.
    """

    def __init__(self, path: str | os.PathLike[str], environ: Mapping[str, str]) -> None:
        self.path = Path(path)
        self._absolute = self.path.absolute()
        self._environ = environ

    def load(self) -> Layer:
        """Read and parse the file and resolve its references."""
        name = str(self.path)
        parser = _parser(self.path.suffix.lower())
        if parser is None:
            supported = ", ".join(_SUFFIXES)
            return _failed(name, "file_format", f"unsupported config file type (use {supported})")
        try:
            text = self._absolute.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return _failed(name, "file_unreadable", f"cannot read the file: {reason}")
        try:
            parsed = parser(text)
        except ParseError as exc:
            return _failed(f"{name}:{exc.line}" if exc.line else name, "syntax", exc.message)
        builder = _LayerBuilder()
        self._add(builder, parsed, parsed.data, ())
        return builder.build()

    def _add(self, builder: _LayerBuilder, parsed: ParsedFile, data: Any, path: tuple[str, ...]) -> None:
        if isinstance(data, dict) and (data or not path):
            if path:
                builder.keys[path] = f"{self.path}:{parsed.line_of(path)}"
            for key, value in data.items():
                self._add(builder, parsed, value, (*path, key))
            return
        origin = f"{self.path}:{parsed.line_of(path)}"
        try:
            value, sensitive = interpolate(data, self._environ)
        except InterpolationError as exc:
            builder.problems.append(Problem(dotted(path), origin, "interpolation", str(exc)))
            # Keep the key so that the rest of the report (unknown keys) stays complete.
            value, sensitive = None, False
        builder.add(path, Leaf(value, origin, sensitive))


class EnvSource:
    """Environment variables ``<PREFIX>__SECTION__KEY``.

    A double underscore separates levels and names are lowercased:
    ``MICROLIB__HTTP__PORT=8081`` sets ``http.port``. Values are read as YAML
    scalars: ``8081`` is an int, ``true`` a bool, ``[a, b]`` a list,
    ``{a: 1}`` a mapping, an empty value or ``null`` is None and
    ``"quoted"`` a string; any other text is kept exactly as written, and a
    string field always receives the text.

    Args:
        environ: The environment.
        prefix: The variables' prefix, without the trailing ``__``.
    """

    def __init__(self, environ: Mapping[str, str], prefix: str = "MICROLIB") -> None:
        self._environ = environ
        self._prefix = f"{prefix}__"

    def load(self) -> Layer:
        """The matching variables as a layer, in name order."""
        builder = _LayerBuilder()
        for name in sorted(self._environ):
            if not name.startswith(self._prefix):
                continue
            parts = name[len(self._prefix) :].split("__")
            origin = f"env {name}"
            if not all(parts):
                builder.problems.append(
                    Problem("", origin, "env_name", "empty key: use a double underscore only between keys")
                )
                continue
            raw = self._environ[name]
            builder.add(tuple(part.lower() for part in parts), Leaf(_parse_scalar(raw), origin, raw=raw))
        return builder.build()

    def misnamed(self, sections: Collection[str]) -> list[Problem]:
        """Variables meant for a setting that are not read: ``MICROLIB_HTTP_PORT`` (one
        underscore after the prefix) or ``microlib__http__port`` (the prefix in lower case)
        would otherwise leave ``http.port`` at its default, silently.

        Args:
            sections: The top-level keys of the settings; only a variable naming one is reported.
        """
        single = self._prefix[:-1]
        problems = []
        for name in sorted(self._environ):
            if name.upper().startswith(self._prefix) and not name.startswith(self._prefix):
                # `microlib__http__port`: environment names are case-sensitive, the prefix is not
                # matched, and the setting would stay at its default, silently.
                first = name[len(self._prefix) :].split("__")[0].lower()
                if first in sections:
                    meant = self._prefix + name[len(self._prefix) :].upper()
                    message = f"not read: the prefix is {self._prefix} in capitals; did you mean {meant}?"
                    problems.append(Problem("", f"env {name}", "env_name", message))
                continue
            if not name.startswith(single) or name.startswith(self._prefix):
                continue
            rest = name[len(single) :].lower()
            named = [section for section in sections if rest.startswith(f"{section}_")]
            if not named:
                continue
            section = max(named, key=len)
            key = rest[len(section) :].lstrip("_").upper()
            meant = f"{self._prefix}{section.upper()}__{key}"
            message = f"not read: one underscore after {single}; did you mean {meant}?"
            problems.append(Problem("", f"env {name}", "env_name", message))
        return problems


class OverrideSource:
    """Command-line overrides ``key.path=value`` (``--set``).

    Keys are dotted; quote a key containing dots: ``logging.levels."uvicorn.access"=DEBUG``.
    Values are read like environment values (see :class:`EnvSource`).

    Args:
        overrides: The ``key=value`` texts, in order (later wins).
    """

    def __init__(self, overrides: Sequence[str]) -> None:
        self._overrides = tuple(overrides)

    def load(self) -> Layer:
        """The overrides as a layer."""
        builder = _LayerBuilder()
        for text in self._overrides:
            key, has_value, raw = text.partition("=")
            try:
                if not has_value:
                    raise ValueError(f"expected key=value, got {text!r}")
                parsed = parse_dotted(key.strip())
                path = tuple(part for part in parsed if isinstance(part, str))
                if len(path) != len(parsed):
                    raise ValueError("set a whole list rather than one item: key=[a, b]")
            except ValueError as exc:
                builder.problems.append(Problem("", f"--set {key.strip()}", "override_syntax", str(exc)))
                continue
            value = _parse_scalar(raw)
            origin = f"--set {key.strip()}=..."
            # A later --set of the same key replaces the earlier one.
            _drop(builder.tree, path)
            builder.add(path, Leaf(value, origin, raw=raw))
        return builder.build()


def _find_leaf(leaves: Mapping[tuple[str, ...], Leaf], path: tuple[str | int, ...]) -> Leaf | None:
    """The leaf holding the value at ``path``: itself, or the list it is an item of."""
    keys = tuple(str(part) for part in path)
    exact = leaves.get(keys)
    if exact is not None:
        return exact
    for end in range(len(keys) - 1, 0, -1):
        leaf = leaves.get(keys[:end])
        if leaf is not None:
            # A list item shares the list's origin; what lies under an empty mapping are defaults.
            return None if isinstance(leaf.value, dict) else leaf
    return None


def _parser(suffix: str) -> Callable[[str], ParsedFile] | None:
    """The parser of a config file type, imported with the first file of that type."""
    if suffix in (".yaml", ".yml"):
        from microlib.config._yaml import parse_yaml

        return parse_yaml
    if suffix == ".toml":
        from microlib.config._toml import parse_toml

        return parse_toml
    return None


def _parse_scalar(raw: str) -> Any:
    """Read an environment or ``--set`` value.

    ``8081`` is an int, ``true`` a bool, ``[a, b]`` a list, ``{a: 1}`` a
    mapping, an empty text or ``null`` is None and ``"quoted"`` is a
    string; anything else is the text unchanged (a ``#`` or ``: `` in it is
    not YAML syntax).
    """
    if _DECIMAL.fullmatch(raw):
        return int(raw)
    if _TEXT.fullmatch(raw) and raw not in _YAML_WORDS:
        return raw
    return _parse_yaml_scalar(raw)


def _parse_yaml_scalar(raw: str) -> Any:
    """:func:`_parse_scalar` for any value, by PyYAML."""
    import yaml

    from microlib.config._yaml import Loader

    try:
        value = yaml.load(raw, Loader=Loader)
    except yaml.YAMLError:
        return raw
    stripped = raw.strip()
    if value is None:
        # "#text" also reads as None (a comment): only real nulls are None.
        return None if stripped in ("", "~", "null", "Null", "NULL") else raw
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | dict) and stripped[:1] in ("[", "{"):
        return value
    if isinstance(value, str) and stripped[:1] in ('"', "'"):
        return value
    return raw


def _failed(source: str, rule: str, message: str) -> Layer:
    return Layer({}, (Problem("", source, rule, message),))


def _drop(tree: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = tree
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value
