"""The historical feeder: one or several datasets as one deterministically merged event stream.

Each dataset is read in Arrow batches, so memory holds one batch per dataset whatever their
length. Events are merged by receive time (what a live runtime would have seen first) or by
exchange time; ties go to the dataset listed first, then to its own order. The merged stream
gets fresh positions 1..n. The same datasets in the same order give the same stream, always.

`feed` yields Event records; `feed_batches` yields the very same stream as Arrow batches, merged
column by column, for a runtime that folds market data in bulk. A file whose time goes back (a
receive time known to be bad) merges as `heapq.merge` takes it: a row waits behind the latest
time its file has shown, so both sort a file's rows by that running maximum.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from canonicalflow.events import EVENT_SCHEMA, Event, iter_events

__all__ = ["MergeOrder", "feed", "feed_batches"]


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
    """The events of every dataset file in `paths`, merged, with positions 1..n. Twin: `feed_batches`."""
    time_field = 3 if order is MergeOrder.RECEIVE_TIME else 2  # Event.ts_receive / Event.ts_exchange
    sources = [_keyed(Path(path), rank, time_field, batch_rows) for rank, path in enumerate(paths)]
    for position, (_, _, _, ev) in enumerate(heapq.merge(*sources), 1):
        yield ev._replace(position=position)


def feed_batches(
    paths: Iterable[Path], order: MergeOrder = MergeOrder.RECEIVE_TIME, *, batch_rows: int = 65_536
) -> Iterator[pa.RecordBatch]:
    """`feed(paths, order)` as Arrow batches: the same rows, in the same order, positions 1..n.

    Each file's rows wait in a buffer with their merge key (the running maximum of their time, the
    file's rank, their own position). Rows whose key is at or below the last buffered key of every
    file that still has rows to read can go: nothing read later comes before them. Those are
    ordered by key and go out as one batch.

    Twin: `feed`.
    """
    paths = [Path(path) for path in paths]
    if len(paths) == 1:  # nothing to merge: the file's own order
        yield from _renumbered(pq.ParquetFile(paths[0], pre_buffer=False).iter_batches(batch_size=batch_rows))
        return
    field = "ts_receive" if order is MergeOrder.RECEIVE_TIME else "ts_exchange"
    sources = [_Source(path, rank, field, batch_rows) for rank, path in enumerate(paths)]
    yield from _renumbered(_merged(sources))


def _merged(sources: list[_Source]) -> Iterator[pa.RecordBatch]:
    """The sources' rows in merge-key order, a batch each time every source has rows waiting."""
    while True:
        for source in sources:
            source.fill()
        waiting = [s for s in sources if s.rows]
        if not waiting:
            return
        bound = min((s.last_key() for s in sources if not s.done), default=None)
        taken = [(s, s.take_until(bound)) for s in waiting]
        parts = [(s, rows) for s, rows in taken if rows.num_rows]
        table = pa.concat_tables([rows for _, rows in parts])
        if len(parts) > 1:
            time = np.concatenate([s.taken_time for s, _ in parts])
            rank = np.concatenate([np.full(rows.num_rows, s.rank) for s, rows in parts])
            own = table.column("position").to_numpy()
            table = table.take(np.lexsort((own, rank, time)))
        yield from table.combine_chunks().to_batches()


def _renumbered(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches with positions 1..n."""
    emitted = 0
    for batch in batches:
        positions = np.arange(emitted + 1, emitted + 1 + batch.num_rows, dtype=np.int64)
        emitted += batch.num_rows
        yield batch.set_column(0, EVENT_SCHEMA.field("position"), pa.array(positions))


class _Source:
    """One file's unmerged rows and their merge keys, read a batch at a time."""

    def __init__(self, path: Path, rank: int, field: str, batch_rows: int) -> None:
        self.rank, self._field = rank, field
        self._batches = pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_rows)
        self._clock = -(1 << 63)
        self.done = False  # every batch of the file is read
        self.rows = pa.table({})  # read, not yet merged
        self._time: npt.NDArray[np.int64] = np.zeros(0, np.int64)  # their running-maximum times
        self.taken_time: npt.NDArray[np.int64] = np.zeros(0, np.int64)

    def fill(self) -> None:
        """Read until rows wait, or the file ends."""
        while not self.rows and not self.done:
            batch = next(self._batches, None)
            if batch is None:
                self.done = True
                return
            time = np.maximum.accumulate(np.maximum(batch.column(self._field).to_numpy(), self._clock))
            if len(time):
                self._clock = int(time[-1])
            self.rows, self._time = pa.Table.from_batches([batch]), time

    def last_key(self) -> tuple[int, int, int]:
        return int(self._time[-1]), self.rank, int(self.rows.column("position")[-1].as_py())

    def take_until(self, bound: tuple[int, int, int] | None) -> pa.Table:
        """The waiting rows whose key is at or below `bound` (all of them when None), which leave."""
        if bound is None:
            count = self.rows.num_rows
        else:
            time, rank, own = bound
            positions = self.rows.column("position").to_numpy()
            after = (self._time > time) | (
                (self._time == time) & ((self.rank > rank) | ((self.rank == rank) & (positions > own)))
            )
            count = int(np.argmax(after)) if after.any() else self.rows.num_rows
        taken, self.rows = self.rows.slice(0, count), self.rows.slice(count)
        self.taken_time, self._time = self._time[:count], self._time[count:]
        return taken
