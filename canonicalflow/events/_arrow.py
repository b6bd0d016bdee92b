"""The Arrow form of the event stream: one column per Event field, one row per event.

Columnar batches are how events are stored (journal, datasets) and moved in bulk; `iter_events`
turns a batch back into flat records for the Core. `check_batch` is the boundary check for Arrow
input: schema, known kinds, strictly increasing positions. It runs once, where data enters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from itertools import repeat

import pyarrow as pa
import pyarrow.compute as pc

from canonicalflow.errors import InvalidEvent
from canonicalflow.events._kinds import EventKind
from canonicalflow.events._record import FIELD_DOCS, Event

__all__ = ["EVENT_SCHEMA", "LazyEvents", "check_batch", "events_of", "iter_events", "to_record_batch"]

_NARROW = {
    "kind": pa.int16(),
    "flags": pa.int8(),
    "side": pa.int8(),
    "liquidity": pa.int8(),
    "command": pa.int8(),
    "order_type": pa.int8(),
    "tif": pa.int8(),
}

EVENT_SCHEMA = pa.schema(
    [
        pa.field(name, _NARROW.get(name, pa.int64()), nullable=False, metadata={"doc": FIELD_DOCS[name]})
        for name in Event._fields
    ],
    metadata={"canonicalflow.schema": "event/1"},
)

_new_event = partial(tuple.__new__, Event)  # Event._make without its length check: zip is strict
_FEW = 2048  # rows below which every column is converted value by value
_KNOWN_KINDS = pa.array(sorted(int(k) for k in EventKind), type=pa.int16())


def to_record_batch(events: Sequence[Event]) -> pa.RecordBatch:
    """A batch holding `events` in order, column by column."""
    columns = list(zip(*events, strict=True)) if events else [()] * len(Event._fields)
    arrays = [pa.array(column, type=field.type) for column, field in zip(columns, EVENT_SCHEMA, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=EVENT_SCHEMA)


def iter_events(batch: pa.RecordBatch) -> Iterator[Event]:
    """The batch's rows as Event records, in order."""
    return iter(events_of(batch))


def events_of(batch: pa.RecordBatch) -> list[Event]:
    """The batch's rows as Event records, in order, built as fast as CPython allows.

    A kind uses a few of the 33 fields, so most columns of a batch are all zeros: those are not
    converted value by value. The garbage collector is left as the caller set it: pausing it here
    was faster, but a library must not switch off a process-wide setting behind its caller's back
    (ADR 0013). Below `_FEW` rows, looking for constant columns costs more (about 0.2 ms a batch)
    than it saves.
    """
    n = batch.num_rows
    columns = []
    for column in batch.columns:
        if n < _FEW:
            columns.append(column.to_pylist())
            continue
        low, high = pc.min_max(column).values()
        constant = low.as_py() if low == high else None
        columns.append(repeat(constant, n) if constant is not None else column.to_pylist())
    return list(map(_new_event, zip(*columns, strict=True)))


class LazyEvents:
    """A batch's rows as Event tuples, made `block` rows at a time when one row of the block is
    read: a reader that wants a few rows of a 64k batch (before a cut, after a wake-up) pays for a
    block, not the batch, and one that reads them all pays about what `events_of` would."""

    def __init__(self, batch: pa.RecordBatch, block: int = 256) -> None:
        self._batch, self._block = batch, block
        self._made: dict[int, list[Event]] = {}

    def __getitem__(self, row: int) -> Event:
        block, offset = divmod(row, self._block)
        events = self._made.get(block)
        if events is None:
            events = self._made[block] = events_of(self._batch.slice(block * self._block, self._block))
        return events[offset]


def check_batch(batch: pa.RecordBatch, after_position: int = -1) -> None:
    """Raise InvalidEvent unless the batch is canonical and follows `after_position`."""
    if not batch.schema.equals(EVENT_SCHEMA):
        expected = {f.name: str(f.type) for f in EVENT_SCHEMA}
        found = {f.name: str(f.type) for f in batch.schema}
        names = [*expected, *(n for n in found if n not in expected)]  # schema order: the first difference
        field = next((n for n in names if expected.get(n) != found.get(n)), "?")
        raise InvalidEvent(
            "?", field, f"schema differs: expected {expected.get(field)}, found {found.get(field)}"
        )
    if batch.num_rows == 0:
        return
    positions = batch.column("position")
    unknown = pc.invert(pc.is_in(batch.column("kind"), value_set=_KNOWN_KINDS))
    if pc.any(unknown).as_py():
        row = pc.index(unknown, True).as_py()
        raise InvalidEvent(
            positions[row].as_py(), "kind", f"unknown event kind {batch.column('kind')[row].as_py()}"
        )
    previous = pa.concat_arrays(
        [pa.array([after_position], pa.int64()), positions.slice(0, batch.num_rows - 1)]
    )
    not_increasing = pc.less_equal(positions, previous)
    if pc.any(not_increasing).as_py():
        row = pc.index(not_increasing, True).as_py()
        raise InvalidEvent(
            positions[row].as_py(),
            "position",
            f"positions must strictly increase; the one before is {previous[row].as_py()}",
        )
