"""RetryPolicy: how often and how patiently a failed message or job is tried again.

Messaging and jobs share it: the same attempts, exponential backoff and
jitter, whatever the door. What counts as a failure worth another attempt
is each door's own decision (``microlib.messaging.POISON_CODES``,
``microlib.jobs.PERMANENT_CODES``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts and backoff.

    The defaults are messaging's (docs/messaging.md); a jobs contract's
    defaults are its own (``microlib.jobs.JOB_RETRY``).

    Args:
        max_attempts: Attempts in all, the first included; after the last
            failure the message or job is dead-lettered.
        initial_backoff: Seconds before the second attempt.
        max_backoff: The backoff never grows beyond this.
        multiplier: Growth factor of the backoff between attempts.
        jitter: Fraction of each backoff drawn at random (0 to 1), so that
            what failed together does not all come back together.

    Raises:
        ValueError: a value is out of range, naming it.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.2
    max_backoff: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"retry.max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("retry.initial_backoff and retry.max_backoff must not be negative")
        if self.multiplier < 1:
            raise ValueError(f"retry.multiplier must be at least 1, got {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"retry.jitter must be between 0 and 1, got {self.jitter}")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first).

        ``initial_backoff * multiplier ** (attempt - 1)``, capped at
        ``max_backoff``, of which the fraction ``jitter`` is drawn at random.
        """
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        spread = base * self.jitter
        return base - spread + (rng or random).random() * spread
