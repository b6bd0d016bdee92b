"""Faults the local exchange can inject, so a client's recovery is tested on real captures.

Every fault is counted in messages or requests, never in seconds, so a test sees the same faults
on a fast machine and a loaded one. None fires in the last `quiet_tail` messages: the stream ends
clean, and a test can check that the client recovered to the exchange's own book.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Faults"]


@dataclass(frozen=True)
class Faults:
    """`0` switches a fault off."""

    drop_every: int = 0  # drop every Nth message of any stream (a lost trade, a lost diff, ...)
    gap_every: int = 0  # drop every Nth depth diff: a break in the update-id chain
    delay_every: int = 0  # hold every Nth message back and send it after the next one of its stream
    disconnect_every: int = 0  # close every client's socket after every N messages
    stale_every: int = 0  # answer every Nth snapshot request with the book as it was when serving began
    quiet_tail: int = 500  # messages at the end with no fault

    @property
    def any(self) -> bool:
        return any(
            (self.drop_every, self.gap_every, self.delay_every, self.disconnect_every, self.stale_every)
        )

    @classmethod
    def chaos(cls) -> Faults:
        """Every fault on at once, often enough to fire many times over one capture."""
        return cls(drop_every=997, gap_every=211, delay_every=101, disconnect_every=15_013, stale_every=3)
