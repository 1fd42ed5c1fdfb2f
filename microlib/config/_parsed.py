"""What a config file parser returns: the data and the line of every key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ParseError", "ParsedFile"]


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A parsed config file.

    Args:
        data: The top-level mapping, keys as strings.
        lines: 1-based line of each key path; a path absent here takes the
            line of its nearest listed ancestor.
    """

    data: dict[str, Any]
    lines: dict[tuple[str, ...], int]

    def line_of(self, path: tuple[str, ...]) -> int:
        """The line that sets ``path`` or its nearest enclosing key (1 if none)."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


class ParseError(Exception):
    """The file is not valid YAML/TOML, or its top level is not a mapping.

    Args:
        message: What is wrong.
        line: 1-based line of the problem, when known.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
