"""Match request paths against OpenAPI path templates.

Concrete paths are looked up in a dict; templated ones are tried as
compiled regexes, the most specific first (the OpenAPI rule: ``/pets/mine``
wins over ``/pets/{petId}``). Values are captured from the raw, still
percent-encoded path and decoded by the parameter parser, so ``%2F`` stays
inside one parameter and ``%2C`` inside one array item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["PathRouter"]

T = TypeVar("T")

_VAR = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True, slots=True)
class _Template(Generic[T]):
    regex: re.Pattern[str]
    names: tuple[str, ...]
    methods: dict[str, T]


class PathRouter(Generic[T]):
    """Finds the entry registered for a method and a path template.

    Args:
        styles: For each template, the style (``simple``, ``label``,
            ``matrix``) of each path parameter; it decides what a value
            may contain.
    """

    def __init__(self) -> None:
        self._static: dict[str, dict[str, T]] = {}
        self._templates: list[tuple[str, _Template[T]]] = []

    def add(self, method: str, template: str, entry: T, styles: Mapping[str, str]) -> None:
        """Register ``entry`` for ``method`` on ``template``.

        Args:
            method: Upper-case HTTP method.
            template: The OpenAPI path (``/pets/{petId}``).
            entry: What ``match`` returns.
            styles: Path parameter name -> style.
        """
        if "{" not in template:
            self._static.setdefault(template, {})[method] = entry
            return
        for key, existing in self._templates:
            if key == template:
                existing.methods[method] = entry
                return
        self._templates.append((template, _compile(template, styles, {method: entry})))
        # Fewer variables and more literal characters first.
        self._templates.sort(key=lambda kv: (len(kv[1].names), -len(_VAR.sub("", kv[0]))))

    def match(self, raw_path: str) -> tuple[dict[str, T] | None, dict[str, str]]:
        """Find the methods registered on the template matching ``raw_path``.

        Args:
            raw_path: The percent-encoded request path.

        Returns:
            ``(method -> entry, raw path values)``, or ``(None, {})``; values
            are decoded by the parameter parser, after style splitting.
        """
        static = self._static.get(raw_path)
        if static is not None:
            return static, {}
        for _key, template in self._templates:
            m = template.regex.match(raw_path)
            if m is not None:
                return template.methods, dict(zip(template.names, m.groups(), strict=True))
        return None, {}


def _compile(template: str, styles: Mapping[str, str], methods: dict[str, T]) -> _Template[T]:
    pattern = ["^"]
    names: list[str] = []
    pos = 0
    for m in _VAR.finditer(template):
        pattern.append(re.escape(template[pos : m.start()]))
        name = m.group(1)
        names.append(name)
        style = styles.get(name, "simple")
        if style == "label":
            pattern.append(r"(\.[^/]*)")
        elif style == "matrix":
            pattern.append(r"(;[^/]*)")
        else:
            pattern.append(r"([^/]+?)")
        pos = m.end()
    pattern.append(re.escape(template[pos:]) + "$")
    return _Template(re.compile("".join(pattern)), tuple(names), methods)
