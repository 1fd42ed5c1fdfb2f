"""``ConfigError``: every problem with a configuration, reported at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from microlib.core.errors import FieldViolation, InvalidArgument

__all__ = ["ConfigError", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One invalid key, or one source that could not be read.

    Args:
        path: Dotted path of the key (``http.port``); empty when the problem
            is a whole source (an unreadable file).
        source: Where the value came from: ``config.yaml:12``,
            ``env MICROLIB__HTTP__PORT``, ``--set http.port=...``, ``default``.
        rule: The rule broken (``less_than_equal``, ``unknown_key``,
            ``missing_env_var``, ``syntax``...).
        message: What is wrong, for a human.
        value: The offending value as displayed (already masked if secret).
    """

    path: str
    source: str
    rule: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        if not self.path:
            return f"{self.source}: {self.message} [{self.rule}]"
        subject = self.path if self.value is None else f"{self.path} = {self.value}"
        return f"{subject} ({self.source}): {self.message} [{self.rule}]"


class ConfigError(InvalidArgument):
    """The configuration is invalid; ``str()`` is the whole report.

    Args:
        problems: Every problem found, in the order of the report.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = [f"invalid configuration ({count} problem{'s' if count != 1 else ''}):"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        super().__init__(
            "\n".join(lines),
            reason="INVALID_CONFIGURATION",
            domain="microlib.config",
            violations=[FieldViolation(p.path, f"{p.message} ({p.source})", p.rule) for p in self.problems],
        )
