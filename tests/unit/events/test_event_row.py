"""`EventRow`: a row of a batch reads, compares and hashes as the Event it holds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonicalflow.events import Event, EventRow, EventRows, to_record_batch

fields = {name: st.integers(-(2**62), 2**62) for name in Event._fields}
fields |= {
    name: st.integers(-128, 127) for name in ("flags", "side", "liquidity", "command", "order_type", "tif")
}
fields["kind"] = st.sampled_from([1, 6, 9, 10, 20, 22, 40, 57])
events = st.lists(st.builds(Event, **fields), min_size=1, max_size=30)


@given(events)
def test_a_row_reads_every_field_of_its_event(given_events: list[Event]) -> None:
    rows = EventRows(to_record_batch(given_events))
    assert len(rows) == len(given_events)
    assert rows.kinds == [ev.kind for ev in given_events]
    for row, ev in enumerate(given_events):
        read = rows[row]
        assert all(getattr(read, name) == value for name, value in ev._asdict().items())
        assert all(type(getattr(read, name)) is int for name in Event._fields)
        assert read.record() == ev and type(read.record()) is Event
        assert read == ev and ev == read and hash(read) == hash(ev)


@given(events, events)
def test_rows_kept_from_earlier_batches_keep_their_values(first: list[Event], second: list[Event]) -> None:
    kept = [EventRows(to_record_batch(batch))[len(batch) - 1] for batch in (first, second)]
    assert [row.record() for row in kept] == [first[-1], second[-1]]
    assert (kept[0] == kept[1]) == (first[-1] == second[-1])


def test_a_row_is_read_only_and_says_what_it_is() -> None:
    row = EventRows(to_record_batch([Event(position=3, kind=6, price=101, qty=2)]))[0]
    with pytest.raises(AttributeError):
        row.price = 5  # type: ignore[misc]
    assert repr(row).startswith("EventRow(position=3, kind=6,")
    assert row != "EventRow" and isinstance(row, EventRow)


def test_an_event_gives_itself_as_its_record() -> None:
    ev = Event(position=1, kind=5)
    assert ev.record() is ev
