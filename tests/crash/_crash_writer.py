"""A writer to kill: appends seeded batches forever, printing each acknowledged last position.

    python _crash_writer.py JOURNAL SEED

Every event is a function of (seed, position) and batch sizes of (seed, first position), so the
test knows exactly what any acknowledged position must hold, across restarts.
"""

from __future__ import annotations

import random
import sys

from canonicalflow.events import Event, EventKind, to_record_batch
from canonicalflow.journal import JournalWriter


def expected_event(seed: int, position: int) -> Event:
    rng = random.Random(seed * 1_000_003 + position)
    return Event(
        position=position,
        kind=int(EventKind.TRADE),
        ts_exchange=1_764_000_000_000_000_000 + position * 1_000,
        ts_receive=1_764_000_000_000_000_000 + position * 1_000 + rng.randrange(1_000_000),
        instrument=rng.randrange(4),
        side=rng.choice((-1, 1)),
        price=rng.randrange(9_000, 11_000),
        qty=rng.randrange(1, 500),
        trade_id=rng.randrange(1 << 40),
    )


def batch_size(seed: int, first: int) -> int:
    return random.Random(seed * 7_919 + first).randrange(1, 400)


def main(path: str, seed: int) -> None:
    with JournalWriter(path, segment_bytes=256 * 1024) as writer:
        first = 0 if writer.last_position is None else writer.last_position + 1
        while True:
            events = [expected_event(seed, p) for p in range(first, first + batch_size(seed, first))]
            last = writer.append(to_record_batch(events))
            print(last, flush=True)
            first = last + 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
