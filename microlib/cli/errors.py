"""The error every subcommand raises for a cause the user can fix."""

from __future__ import annotations

__all__ = ["CommandError"]


class CommandError(Exception):
    """A command failed for a reason the user can fix; printed as one line."""
