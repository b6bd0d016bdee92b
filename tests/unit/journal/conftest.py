"""Event batches for journal tests: trades whose every field is a function of the position."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from canonicalflow.events import Event, EventKind, to_record_batch

Batches = Callable[[int, int], pa.RecordBatch]


def trade(position: int) -> Event:
    return Event(
        position=position,
        kind=int(EventKind.TRADE),
        ts_exchange=1_764_000_000_000_000_000 + position * 1_000,
        ts_receive=1_764_000_000_000_000_000 + position * 1_000 + 250,
        instrument=3,
        side=1 if position % 2 else -1,
        price=10_000 + position % 17,
        qty=1 + position % 5,
        trade_id=90_000 + position,
        sequence=position,
    )


@pytest.fixture
def trades() -> Batches:
    """`trades(first, count)`: a batch of `count` trades at positions first, first + 1, ..."""
    return lambda first, count: to_record_batch([trade(p) for p in range(first, first + count)])
