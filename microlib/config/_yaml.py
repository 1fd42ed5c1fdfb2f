"""YAML loading that records the line of every key.

The loader follows the YAML 1.2 core schema for booleans (only
``true``/``false``) and leaves dates as strings, so ``country: NO`` stays a
string and pydantic decides how to read a date.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from microlib.config._parsed import ParsedFile, ParseError

__all__ = ["Loader", "parse_yaml"]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_DROPPED = {_BOOL_TAG, "tag:yaml.org,2002:timestamp"}


class Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no implicit timestamps."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def parse_yaml(text: str) -> ParsedFile:
    """Parse one YAML document whose top level is a mapping.

    Raises:
        ParseError: a syntax error, several documents, a non-scalar or
            duplicate key, or a top level that is not a mapping.
    """
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return ParsedFile({}, {})
        if not isinstance(node, MappingNode):
            raise ParseError("the top level must be a mapping of keys to values", _line(node))
        lines: dict[tuple[str, ...], int] = {}
        return ParsedFile(_mapping(loader, node, (), lines), lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise ParseError(f"invalid YAML: {problem}", mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise ParseError(f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()


def _mapping(
    loader: Loader, node: MappingNode, path: tuple[str, ...], lines: dict[tuple[str, ...], int]
) -> dict[str, Any]:
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = _key(loader, key_node)
        if key in seen:
            raise ParseError(f"duplicate key {key!r} (first set on line {seen[key]})", _line(key_node))
        seen[key] = _line(key_node)
    loader.flatten_mapping(node)
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = _key(loader, key_node)
        lines[(*path, key)] = _line(key_node)
        result[key] = _value(loader, value_node, (*path, key), lines)
    return result


def _value(loader: Loader, node: Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> Any:
    if isinstance(node, MappingNode):
        return _mapping(loader, node, path, lines)
    return loader.construct_object(node, deep=True)


def _key(loader: Loader, node: Node) -> str:
    if not isinstance(node, ScalarNode):
        raise ParseError("a key must be a plain scalar", _line(node))
    key = loader.construct_object(node)
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1
