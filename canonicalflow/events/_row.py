"""An event read in place: one row of a batch, with every Event field as an attribute.

Building the 33-field `Event` tuple for a row costs about 0.6 µs in CPython, more than asking a
Python hook about it. A runtime that holds market data as columns hands hooks an `EventRow`
instead: a reference to the batch and a row number, made in about 0.1 µs. A field is turned into
a Python list for the whole batch the first time any row reads it, so a hook that reads nothing
costs nothing, and one that reads a field pays for that column once.

A row reads the same values the Event would hold, compares equal to it, and `record()` gives the
Event itself, to keep or to hash. Unlike the tuple, a row keeps its batch's columns alive.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from canonicalflow.events._record import Event

__all__ = ["EventRow", "EventRows"]


class _Columns(dict[str, list[int]]):
    """A batch's columns as Python lists, each made on its first read."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        super().__init__()
        self.batch = batch

    def __missing__(self, name: str) -> list[int]:
        values = self[name] = self.batch.column(name).to_numpy().tolist()
        return values


class EventRow:
    """Row `row` of a batch of events, read-only; see the module docstring."""

    __slots__ = ("_columns", "_row")

    def __init__(self, columns: _Columns, row: int) -> None:
        self._columns, self._row = columns, row

    def record(self) -> Event:
        """The row as an Event tuple."""
        columns, row = self._columns, self._row
        return Event(*(columns[name][row] for name in Event._fields))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventRow | Event):
            return self.record() == other.record()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.record())

    def __repr__(self) -> str:
        return f"EventRow{repr(self.record()).removeprefix('Event')}"

    # one read-only property per Event field, added below; declared here for type checkers
    position: int
    kind: int
    ts_exchange: int
    ts_receive: int
    instrument: int
    flags: int
    sequence: int
    order_id: int
    client_order_id: int
    intent_id: int
    side: int
    price: int
    qty: int
    bid_price: int
    bid_qty: int
    ask_price: int
    ask_qty: int
    trade_id: int
    liquidity: int
    fee: int
    reason: int
    command: int
    allowed: int
    scope: int
    tokens: int
    engaged: int
    config_id: int
    gap_to: int
    checkpoint_id: int
    due_ts: int
    order_type: int
    tif: int
    expire_ts: int


def _reader(name: str) -> property:
    def read(row: EventRow) -> Any:
        return row._columns[name][row._row]

    return property(read, doc=f"the event's `{name}`")


for _name in Event._fields:
    setattr(EventRow, _name, _reader(_name))


class EventRows:
    """A batch's rows as `EventRow`s, each made when it is indexed; `kinds` without making any."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self._columns = _Columns(batch)

    @property
    def kinds(self) -> list[int]:
        return self._columns["kind"]

    def __getitem__(self, row: int) -> EventRow:
        return EventRow(self._columns, row)

    def __len__(self) -> int:
        return self._columns.batch.num_rows
