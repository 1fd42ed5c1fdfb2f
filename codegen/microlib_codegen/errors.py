"""The one error type the generator raises for problems a user can fix."""

from __future__ import annotations

__all__ = ["CodegenError"]


class CodegenError(Exception):
    """A contract or configuration problem, already phrased for the user.

    Args:
        message: What is wrong and where (``file:line:column: message`` for
            contract errors, ``pyproject.toml [tool.microlib.codegen] key``
            for configuration); several problems are separate lines.
    """
