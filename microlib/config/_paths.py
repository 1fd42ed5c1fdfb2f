"""Dotted paths: ``http.port``, ``logging.levels."uvicorn.access"``, ``hosts[0]``."""

from __future__ import annotations

import re

__all__ = ["Path", "dotted", "parse_dotted"]

Path = tuple[str | int, ...]

_PLAIN = re.compile(r"^[A-Za-z0-9_-]+$")


def dotted(path: Path) -> str:
    """Render ``path`` for humans; keys that are not plain words are quoted."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        segment = part if _PLAIN.match(part) else '"' + part.replace('"', '\\"') + '"'
        text = f"{text}.{segment}" if text else segment
    return text


def parse_dotted(text: str) -> tuple[str, ...]:
    """Split ``a.b."c.d"`` into ``("a", "b", "c.d")``.

    Raises:
        ValueError: the text is empty, has an empty segment or an unclosed quote.
    """
    parts: list[str] = []
    current = ""
    quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if quoted and char == "\\" and index + 1 < len(text):
            current += text[index + 1]
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
        index += 1
    if quoted:
        raise ValueError(f"unclosed quote in key {text!r}")
    parts.append(current)
    if any(not part for part in parts):
        raise ValueError(f"empty segment in key {text!r}")
    return tuple(parts)
