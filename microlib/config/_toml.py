"""TOML loading that records the line of every key.

``tomllib`` parses the values; a small scanner then walks the text to find
the line of each key and table header. It only ever sees text that
``tomllib`` accepted, so it just needs to skip strings, comments and
multi-line values correctly.
"""

from __future__ import annotations

import tomllib
from typing import Any

from microlib.config._parsed import ParsedFile, ParseError

__all__ = ["parse_toml"]


def parse_toml(text: str) -> ParsedFile:
    """Parse a TOML document.

    Raises:
        ParseError: the text is not valid TOML.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message ends with "(at line N, column M)".
        message = str(exc)
        line = None
        if "(at line " in message:
            line = int(message.rsplit("(at line ", 1)[1].split(",", 1)[0])
        raise ParseError(f"invalid TOML: {message}", line) from exc
    return ParsedFile(data, _key_lines(text))


class _Scanner:
    """Tracks the open strings and brackets of a value across lines."""

    def __init__(self) -> None:
        self.multiline: str | None = None
        self.depth = 0

    @property
    def inside_value(self) -> bool:
        return self.multiline is not None or self.depth > 0

    def feed(self, text: str) -> None:
        index = 0
        while index < len(text):
            if self.multiline is not None:
                end = _find_close(text, index, self.multiline)
                if end < 0:
                    return
                self.multiline = None
                index = end + 3
                continue
            char = text[index]
            if char == "#":
                return
            if text.startswith(('"""', "'''"), index):
                self.multiline = text[index : index + 3]
                index += 3
            elif char in "\"'":
                index = _skip_string(text, index)
            else:
                self.depth += (char in "[{") - (char in "]}")
                index += 1


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    scanner = _Scanner()
    for number, line in enumerate(text.splitlines(), start=1):
        if scanner.inside_value:
            scanner.feed(line)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            array = stripped.startswith("[[")
            end = _find_unquoted(stripped, "]", 2 if array else 1)
            table = _key_path(stripped[2 if array else 1 : end])
            _set_tables(lines, table, number)
            lines.setdefault(table, number)
            continue
        equals = _find_unquoted(stripped, "=", 0)
        path = table + _key_path(stripped[:equals])
        _set_tables(lines, path, number)
        lines[path] = number
        scanner.feed(stripped[equals + 1 :])
    return lines


def _set_tables(lines: dict[tuple[str, ...], int], path: tuple[str, ...], number: int) -> None:
    """Each table ``path`` lies in (``a`` of ``[a.b]`` or ``a.b = 1``) is on line ``number``, unless
    an earlier line named it: a table with no header of its own is reported where it first shows."""
    for end in range(1, len(path)):
        lines.setdefault(path[:end], number)


def _key_path(key: str) -> tuple[str, ...]:
    # tomllib knows every quoting rule for keys; let it split the dotted key.
    node: Any = tomllib.loads(f"{key} = 0")
    path: list[str] = []
    while isinstance(node, dict):
        ((name, node),) = node.items()
        path.append(name)
    return tuple(path)


def _find_unquoted(text: str, target: str, start: int) -> int:
    index = start
    while index < len(text):
        if text[index] in "\"'":
            index = _skip_string(text, index)
        elif text[index] == target:
            return index
        else:
            index += 1
    return len(text)


def _skip_string(text: str, start: int) -> int:
    quote = text[start]
    index = start + 1
    while index < len(text):
        if quote == '"' and text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            return index + 1
        index += 1
    return index


def _find_close(text: str, start: int, delimiter: str) -> int:
    index = start
    while True:
        found = text.find(delimiter, index)
        if found < 0:
            return -1
        if delimiter == '"""' and _escaped(text, found):
            index = found + 1
            continue
        # A closing delimiter may be followed by up to two more quotes that
        # belong to the string's content.
        while text.startswith(delimiter, found + 1):
            found += 1
        return found


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
