"""Dotted paths: ``http.port``, ``logging.levels."uvicorn.access"``, ``app.hosts[0]``."""

from __future__ import annotations

import re

__all__ = ["Path", "dotted", "parse_dotted"]

Path = tuple[str | int, ...]

_PLAIN = re.compile(r"^[A-Za-z0-9_-]+$")
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|\[(\d+)\]|([^."\[]+)|(\.)')


def dotted(path: Path) -> str:
    """Render ``path`` for humans; keys that are not plain words are quoted."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        segment = part if _PLAIN.match(part) else '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
        text = f"{text}.{segment}" if text else segment
    return text


def parse_dotted(text: str) -> Path:
    """Split ``a.b."c.d"[0]`` into ``("a", "b", "c.d", 0)``; the inverse of :func:`dotted`.

    Raises:
        ValueError: the text is empty, has an empty segment or is malformed.
    """
    parts: list[str | int] = []
    expect_key = True
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"malformed key {text!r} at position {position}")
        quoted, index, bare, dot = match.groups()
        if dot is not None:
            if expect_key:
                raise ValueError(f"empty segment in key {text!r}")
            expect_key = True
        elif index is not None:
            if expect_key:
                raise ValueError(f"an index must follow a key in {text!r}")
            parts.append(int(index))
        else:
            if not expect_key:
                raise ValueError(f"missing '.' between keys in {text!r}")
            parts.append(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare)
            expect_key = False
        position = match.end()
    if expect_key:
        raise ValueError(f"empty segment in key {text!r}")
    return tuple(parts)
