"""microlib.cli: the ``microlib`` command."""

from __future__ import annotations

from microlib.cli.errors import CommandError
from microlib.cli.main import main

__all__ = ["CommandError", "main"]
