"""The live runtime's clock: the time of day in integer nanoseconds, never going back.

Every input is stamped with it on arrival, and the node acts on what is due by it. Each reading is
later than the one before, so a stamp taken after the node looked at the clock is always later
than what the node saw: nothing can arrive "at" a time the node has already acted on.
"""

from __future__ import annotations

import time

__all__ = ["WallClock"]


class WallClock:
    """`clock()`: nanoseconds since the epoch, strictly increasing from one reading to the next."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        self._last = max(self._last + 1, time.time_ns())
        return self._last

    def not_before(self, ts: int) -> None:
        """Every later reading is after `ts`: a node restarted on its journal goes on after it,
        even if the time of day went back meanwhile."""
        self._last = max(self._last, ts)
