"""The historical feeder: one or several datasets as one deterministically merged event stream.

Each dataset is read in Arrow batches, so memory holds one batch per dataset whatever their
length. Events are merged by receive time (what a live runtime would have seen first) or by
exchange time; ties go to the dataset listed first, then to its own order. The merged stream
gets fresh positions 1..n. The same datasets in the same order give the same stream, always.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path

import pyarrow.parquet as pq

from canonicalflow.events import Event, iter_events

__all__ = ["MergeOrder", "feed"]


class MergeOrder(Enum):
    RECEIVE_TIME = "receive"  # ts_receive, then dataset order, then position: what Live sees
    # ts_exchange, then dataset order, then position. A merge, not a sort: each file must already be
    # in exchange-time order (a capture of several venue channels may not be; use RECEIVE_TIME).
    EXCHANGE_TIME = "exchange"


def _read(path: Path, batch_rows: int) -> Iterator[Event]:
    # pre_buffer off: with it, pyarrow keeps the column chunks it has read, and memory grows with the file.
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_rows):
        yield from iter_events(batch)


def _keyed(path: Path, rank: int, time_field: int, batch_rows: int) -> Iterator[tuple[int, int, int, Event]]:
    """The file's events with their merge key: (time, the file's rank, its own position)."""
    for ev in _read(path, batch_rows):
        yield ev[time_field], rank, ev.position, ev


def feed(
    paths: Iterable[Path], order: MergeOrder = MergeOrder.RECEIVE_TIME, *, batch_rows: int = 65_536
) -> Iterator[Event]:
    """The events of every dataset file in `paths`, merged, with positions 1..n."""
    time_field = 3 if order is MergeOrder.RECEIVE_TIME else 2  # Event.ts_receive / Event.ts_exchange
    sources = [_keyed(Path(path), rank, time_field, batch_rows) for rank, path in enumerate(paths)]
    for position, (_, _, _, ev) in enumerate(heapq.merge(*sources), 1):
        yield ev._replace(position=position)
