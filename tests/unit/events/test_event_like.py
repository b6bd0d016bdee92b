"""`EventLike` is the one type hooks are handed: an `Event` and an `EventRow` both satisfy it."""

from __future__ import annotations

import pyarrow as pa

from canonicalflow.events import Event, EventKind, EventLike, EventRows, to_record_batch


def _members(protocol: type) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")}


def test_the_protocol_names_every_event_field_and_record() -> None:
    assert _members(EventLike) == {*Event._fields, "record"}


def test_an_event_and_its_row_read_the_same_through_the_protocol() -> None:
    ev = Event(
        position=3, kind=int(EventKind.LEVEL_SET), ts_receive=7, instrument=1, side=-1, price=101, qty=4
    )
    rows = EventRows(to_record_batch([ev]))

    def read(like: EventLike) -> tuple[int, ...]:
        return tuple(getattr(like, name) for name in Event._fields)

    assert read(ev) == read(rows[0]) == tuple(ev)
    assert rows[0].record() == ev.record() == ev
    assert isinstance(to_record_batch([ev]), pa.RecordBatch)
