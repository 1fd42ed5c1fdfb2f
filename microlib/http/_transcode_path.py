"""``google.api.http`` path templates: parsing, matching and value decoding.

The grammar (``google/api/http.proto``)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

A template compiles to one anchored regular expression matched against the
raw (still percent-encoded) path, so an encoded ``/`` inside a single-segment
variable never splits it. Single-segment values are then fully decoded;
multi-segment values (``**`` or several segments) keep ``%2F`` as is, as the
rule's specification asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from microlib.core.errors import InvalidArgument
from microlib.http._path_escapes import escape_violation

__all__ = ["PathTemplate", "TemplateError"]

_LITERAL = re.compile(r"(?:[A-Za-z0-9._~!$&'()+,;=@-]|%[0-9A-Fa-f]{2})+")
_VERB = re.compile(r"[A-Za-z0-9._~-]+")


class TemplateError(ValueError):
    """A path template does not follow the ``google.api.http`` grammar."""


@dataclass(frozen=True, slots=True)
class _Variable:
    field_path: tuple[str, ...]
    group: str
    multi: bool


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """One compiled path template.

    Args:
        text: The template as written (``/v1/{name=shelves/*}:get``).
        regex: The compiled matcher over the raw path.
        variables: Bound field paths, in template order.
        verb: The custom verb (``batchGet``), or ``""``.
        wildcards: Each segment's kind, in order: 0 a literal, 1 ``*``, 2 ``**``. Of two
            templates matching one path, the smaller is the more specific.
    """

    text: str
    regex: re.Pattern[str]
    variables: tuple[_Variable, ...]
    verb: str
    wildcards: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> PathTemplate:
        """Compile ``text``.

        Raises:
            TemplateError: It does not follow the grammar, naming where.
        """
        if not text.startswith("/"):
            raise TemplateError(f"path template {text!r} must start with '/'")
        body, verb = _split_verb(text)
        pattern: list[str] = []
        variables: list[_Variable] = []
        wildcards: list[int] = []
        pos = 1
        while pos <= len(body):
            if pos < len(body) and body[pos] == "{":
                end = body.find("}", pos)
                if end < 0:
                    raise TemplateError(f"path template {text!r}: unclosed '{{' at {pos}")
                name, _, sub = body[pos + 1 : end].partition("=")
                path = tuple(name.split("."))
                if not all(p.isidentifier() for p in path):
                    raise TemplateError(f"path template {text!r}: bad field path {name!r}")
                group = f"v{len(variables)}"
                segments = sub.split("/") if sub else ["*"]
                wildcards.extend(_WILDCARDS.get(s, 0) for s in segments)
                inner = "/".join(_segment(s, text) for s in segments)
                multi = len(segments) > 1 or "**" in segments
                variables.append(_Variable(path, group, multi))
                pattern.append(f"(?P<{group}>{inner})")
                pos = end + 1
            else:
                end = body.find("/", pos)
                end = len(body) if end < 0 else end
                segment = body[pos:end]
                wildcards.append(_WILDCARDS.get(segment, 0))
                pattern.append(_segment(segment, text))
                pos = end
            if pos < len(body):
                if body[pos] != "/":
                    raise TemplateError(f"path template {text!r}: expected '/' at {pos}")
                pattern.append("/")
            pos += 1
        suffix = f":{re.escape(verb)}" if verb else ""
        names = [v.field_path for v in variables]
        if len(set(names)) != len(names):
            raise TemplateError(f"path template {text!r} binds a field twice")
        return cls(
            text=text,
            regex=re.compile("^/" + "".join(pattern) + suffix + "$"),
            variables=tuple(variables),
            verb=verb,
            wildcards=tuple(wildcards),
        )

    def match(self, raw_path: str) -> dict[tuple[str, ...], str] | None:
        """The decoded value of each variable, or None when ``raw_path`` does not match.

        Raises:
            InvalidArgument: A value holds a malformed percent-escape, naming its field.
        """
        found = self.regex.match(raw_path)
        if found is None:
            return None
        values: dict[tuple[str, ...], str] = {}
        for var in self.variables:
            raw = found.group(var.group)
            if "%" in raw and (refused := escape_violation(".".join(var.field_path), raw)) is not None:
                raise InvalidArgument(refused.description, violations=[refused])
            if var.multi:
                # Keep an encoded '/' encoded: it is data, not a separator.
                values[var.field_path] = "%2F".join(unquote(p) for p in re.split("%2[Ff]", raw))
            else:
                values[var.field_path] = unquote(raw)
        return values


def _split_verb(text: str) -> tuple[str, str]:
    last = text.rsplit("/", 1)[-1]
    if ":" in last and "}" not in last.rsplit(":", 1)[1]:
        body, _, verb = text.rpartition(":")
        if not _VERB.fullmatch(verb):
            raise TemplateError(f"path template {text!r}: bad verb {verb!r}")
        return body, verb
    return text, ""


_WILDCARDS = {"*": 1, "**": 2}


def _segment(segment: str, text: str) -> str:
    if segment == "*":
        return "[^/]+"
    if segment == "**":
        return ".+"
    if not _LITERAL.fullmatch(segment):
        raise TemplateError(f"path template {text!r}: bad segment {segment!r}")
    return re.escape(segment)
