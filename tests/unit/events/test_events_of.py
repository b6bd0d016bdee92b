"""`events_of` makes the same Event records as converting every column value by value."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from canonicalflow.events import Event, LazyEvents, events_of, to_record_batch

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


@given(events, st.integers(1, 7), st.randoms(use_true_random=False))
def test_lazy_events_give_each_row_as_events_of_would(
    given_events: list[Event], block: int, order: random.Random
) -> None:
    lazy = LazyEvents(to_record_batch(given_events), block)
    rows = list(range(len(given_events)))
    order.shuffle(rows)  # blocks are made in whatever order rows are first read
    assert [lazy[row] for row in rows] == [given_events[row] for row in rows]


def test_a_large_batch_with_constant_columns_gives_back_its_events() -> None:
    """From 2048 rows on, columns holding one value throughout are not converted value by value."""
    made = [
        Event(position=p, kind=6, instrument=3, side=1 - 2 * (p % 2), price=p % 97, qty=7)
        for p in range(1, 3001)
    ]
    assert events_of(to_record_batch(made)) == made
