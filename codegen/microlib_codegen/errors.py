"""The one error type the generator raises for problems a user can fix."""

from __future__ import annotations

from microlib.config._schema import suggest

__all__ = ["CodegenError", "meant"]


class CodegenError(Exception):
    """A contract or configuration problem, already phrased for the user.

    Args:
        message: What is wrong and where (``file:line:column: message`` for
            contract errors, ``pyproject.toml [tool.microlib.codegen] key``
            for configuration); several problems are separate lines.
    """


def meant(word: str, candidates: tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` when ``word`` looks like a typo of a candidate, else ``""``."""
    close = suggest(word, list(candidates))
    return f" (did you mean {close!r}?)" if close else ""
