"""The generator's version, written into every generated file's header."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
