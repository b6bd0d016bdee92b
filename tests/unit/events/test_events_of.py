"""`events_of` makes the same Event records as converting every column value by value."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from canonicalflow.events import Event, events_of, to_record_batch

fields = {name: st.integers(-(2**62), 2**62) for name in Event._fields}
fields |= {
    name: st.integers(-128, 127) for name in ("flags", "side", "liquidity", "command", "order_type", "tif")
}
fields["kind"] = st.sampled_from([1, 6, 9, 10, 20, 22, 40, 57])
events = st.lists(st.builds(Event, **fields), max_size=30)


@given(events, st.booleans())
def test_events_of_gives_back_the_events_of_a_batch(given_events: list[Event], constant: bool) -> None:
    if constant:  # columns that hold one value throughout are made without converting each value
        given_events = [ev._replace(qty=7, price=0, instrument=3) for ev in given_events]
    made = events_of(to_record_batch(given_events))
    assert made == given_events and all(type(ev) is Event for ev in made)
