"""Events survive the Arrow form unchanged, and `check_batch` refuses every non-canonical batch.

Generated events pass through `parse_event`, so the strategy can only produce what the boundary
accepts: a strategy that drifted from the boundary would fail here, not test something unreal.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonicalflow.errors import InvalidEvent
from canonicalflow.events import (
    COMMON_FIELDS,
    EVENT_SCHEMA,
    FIELDS,
    Event,
    EventKind,
    check_batch,
    iter_events,
    parse_event,
    to_record_batch,
)

INT64 = st.integers(-(2**63), 2**63 - 1)
NATURAL = st.integers(0, 2**63 - 1)
COUNTING = st.integers(1, 2**63 - 1)

# Values valid at the boundary for every kind that carries the field; TRADE widens `side` below.
VALUES: dict[str, st.SearchStrategy[int]] = {
    "ts_exchange": NATURAL,
    "ts_receive": NATURAL,
    "instrument": NATURAL,
    "flags": st.integers(0, 7),
    "sequence": NATURAL,
    "order_id": NATURAL,
    "client_order_id": COUNTING,
    "intent_id": COUNTING,
    "side": st.sampled_from([-1, 1]),
    "price": INT64,
    "qty": COUNTING,
    "bid_price": INT64,
    "bid_qty": NATURAL,
    "ask_price": INT64,
    "ask_qty": NATURAL,
    "trade_id": NATURAL,
    "liquidity": st.integers(0, 2),
    "fee": INT64,
    "reason": NATURAL,
    "command": st.integers(1, 3),
    "allowed": st.integers(0, 1),
    "scope": NATURAL,
    "tokens": COUNTING,
    "engaged": st.integers(0, 1),
    "config_id": NATURAL,
    "gap_to": NATURAL,
    "checkpoint_id": NATURAL,
    "due_ts": NATURAL,
    "order_type": st.integers(0, 1),
    "tif": st.integers(0, 5),
    "expire_ts": NATURAL,
}
TRADE_SIDE = st.sampled_from([-1, 0, 1])
KNOWN_CODES = {int(kind) for kind in EventKind}


@st.composite
def event_lists(draw: st.DrawFn, min_size: int = 0, max_size: int = 20) -> list[Event]:
    """Valid events of any kinds, in strictly increasing positions (gaps allowed)."""
    kinds = draw(st.lists(st.sampled_from(EventKind), min_size=min_size, max_size=max_size))
    position = draw(st.integers(0, 2**62))
    events = []
    for kind in kinds:
        mapping: dict[str, object] = {
            "position": position,
            "kind": draw(st.sampled_from([kind.name, int(kind)])),
        }
        for name in COMMON_FIELDS + FIELDS[kind]:
            if name not in mapping:
                strategy = TRADE_SIDE if (kind, name) == (EventKind.TRADE, "side") else VALUES[name]
                mapping[name] = draw(strategy)
        events.append(parse_event(mapping))
        position += draw(st.integers(1, 2**20))
    return events


def refusal(batch: pa.RecordBatch, after_position: int = -1) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        check_batch(batch, after_position)
    return caught.value


@given(event_lists())
def test_events_round_trip_through_a_record_batch(events: list[Event]) -> None:
    batch = to_record_batch(events)
    assert batch.schema.equals(EVENT_SCHEMA, check_metadata=True)
    assert list(iter_events(batch)) == events


@settings(max_examples=50)
@given(event_lists())
def test_events_round_trip_through_an_arrow_ipc_stream(events: list[Event]) -> None:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, EVENT_SCHEMA) as writer:
        writer.write_batch(to_record_batch(events))
    with pa.ipc.open_stream(sink.getvalue()) as reader:
        batch = reader.read_next_batch()
    assert batch.schema.equals(EVENT_SCHEMA, check_metadata=True)
    assert list(iter_events(batch)) == events


@given(event_lists())
def test_check_batch_accepts_a_canonical_batch(events: list[Event]) -> None:
    batch = to_record_batch(events)
    check_batch(batch)
    if events:
        check_batch(batch, after_position=events[0].position - 1)


@given(event_lists(min_size=1), st.integers(0, 2**20))
def test_check_batch_refuses_a_batch_that_does_not_follow_after_position(
    events: list[Event], overlap: int
) -> None:
    first = events[0].position
    error = refusal(to_record_batch(events), after_position=first + overlap)
    assert (error.field, error.position) == ("position", first)


@given(event_lists(min_size=2), st.data())
def test_check_batch_names_the_later_of_two_swapped_positions(
    events: list[Event], data: st.DataObject
) -> None:
    row = data.draw(st.integers(0, len(events) - 2), label="row")
    earlier, later = events[row].position, events[row + 1].position
    swapped = [*events]
    swapped[row] = events[row]._replace(position=later)
    swapped[row + 1] = events[row + 1]._replace(position=earlier)
    error = refusal(to_record_batch(swapped))
    assert (error.field, error.position) == ("position", earlier)


@settings(max_examples=50)
@given(event_lists(), st.sampled_from(Event._fields))
def test_check_batch_refuses_a_column_of_another_type(events: list[Event], column: str) -> None:
    batch = to_record_batch(events)
    index = batch.schema.get_field_index(column)
    retyped = pa.float64() if batch.schema.field(index).type == pa.int64() else pa.int64()
    arrays = [*batch.columns]
    arrays[index] = arrays[index].cast(retyped, safe=False)
    schema = batch.schema.set(index, batch.schema.field(index).with_type(retyped))
    error = refusal(pa.RecordBatch.from_arrays(arrays, schema=schema))
    assert error.field == column


@given(event_lists(min_size=1), st.data())
def test_check_batch_refuses_an_unknown_kind_code(events: list[Event], data: st.DataObject) -> None:
    row = data.draw(st.integers(0, len(events) - 1), label="row")
    code = data.draw(st.integers(-(2**15), 2**15 - 1).filter(lambda c: c not in KNOWN_CODES), label="code")
    corrupted = [*events]
    corrupted[row] = events[row]._replace(kind=code)
    error = refusal(to_record_batch(corrupted))
    assert (error.field, error.position) == ("kind", events[row].position)
