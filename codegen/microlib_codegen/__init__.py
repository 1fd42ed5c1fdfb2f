"""The microlib code generator (the ``microlib-codegen`` distribution)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
