"""The feeder merges datasets deterministically; the quality gate finds what is wrong, with positions."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonicalflow.data import MergeOrder, QualityGate, feed, feed_batches
from canonicalflow.events import Event, EventKind, Flag, iter_events, to_record_batch

LAST = int(Flag.LAST_IN_PACKET)


def _write(path: Path, rows: list[tuple[int, int, int]]) -> Path:
    """A dataset file of trades: (ts_exchange, ts_receive, price) per row, positions 1..n."""
    events = [
        Event(
            position=i, kind=int(EventKind.TRADE), ts_exchange=te, ts_receive=tr, instrument=1, price=p, qty=1
        )
        for i, (te, tr, p) in enumerate(rows, 1)
    ]
    pq.write_table(pa.Table.from_batches([to_record_batch(events)]), path)
    return path


def test_datasets_merge_by_receive_time_ties_to_the_first_listed(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.parquet", [(1, 10, 100), (2, 30, 101), (3, 30, 102)])
    b = _write(tmp_path / "b.parquet", [(1, 20, 200), (2, 30, 201), (9, 40, 202)])
    merged = list(feed([a, b], batch_rows=2))
    assert [e.price for e in merged] == [100, 200, 101, 102, 201, 202]
    assert [e.position for e in merged] == [1, 2, 3, 4, 5, 6]
    assert [e.price for e in feed([b, a])] == [100, 200, 201, 101, 102, 202]  # the tie goes to b now


def test_exchange_time_order_is_available_and_deterministic(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.parquet", [(5, 10, 100), (6, 11, 101)])
    b = _write(tmp_path / "b.parquet", [(1, 50, 200), (7, 60, 201)])
    order = [e.price for e in feed([a, b], MergeOrder.EXCHANGE_TIME)]
    assert order == [200, 100, 101, 201] == [e.price for e in feed([a, b], MergeOrder.EXCHANGE_TIME)]


def _ev(position: int, kind: EventKind, ts: int = 0, flags: int = LAST, **fields: int) -> Event:
    return Event(
        position=position, kind=int(kind), ts_exchange=ts, ts_receive=ts, instrument=1, flags=flags, **fields
    )


def test_the_gate_reports_each_problem_with_its_position() -> None:
    events = [
        _ev(1, EventKind.ORDER_ADD, 10, order_id=1, side=1, price=100, qty=5),
        _ev(2, EventKind.ORDER_ADD, 11, order_id=2, side=-1, price=102, qty=5),
        _ev(3, EventKind.TRADE, 12, price=150, qty=1),  # far outside 100..102
        _ev(4, EventKind.ORDER_CANCEL, 12, order_id=7, side=1, price=100, qty=1),  # an unknown order
        _ev(5, EventKind.ORDER_ADD, 9, order_id=3, side=1, price=99, qty=1),  # both clocks went back
        _ev(6, EventKind.FEED_GAP, 13, sequence=40, gap_to=44),
    ]
    gate = QualityGate(3)
    gate.feed(to_record_batch(events))
    report = gate.finish()
    assert report.verdict == "failed"
    assert report.counts == {
        "implausible_trade": 1,
        "exchange_time_backwards": 1,
        "receive_time_backwards": 1,
        "book_unknown_order": 1,
        "feed_gap": 1,
    }
    assert report.examples["implausible_trade"][0][0] == 3 and report.examples["feed_gap"][0][0] == 6
    assert report.examples["exchange_time_backwards"][0][0] == 5


def test_exchange_time_is_ordered_per_kind_of_event_receive_time_across_all() -> None:
    events = [
        _ev(1, EventKind.BBO, 10, bid_price=99, bid_qty=1, ask_price=101, ask_qty=1),
        _ev(2, EventKind.TRADE, 8, price=100, qty=1)._replace(ts_receive=11),  # its own channel's clock
        _ev(3, EventKind.LEVEL_SET, 20, Flag.SNAPSHOT | LAST, side=1, price=99, qty=2),  # a REST snapshot
        _ev(4, EventKind.LEVEL_SET, 15, side=1, price=99, qty=3)._replace(
            ts_receive=21
        ),  # an older diff after it
    ]
    gate = QualityGate(2)
    gate.feed(to_record_batch(events))
    assert gate.finish().verdict == "passed"


def test_a_clean_covered_stream_passes_and_one_that_stops_short_is_uncovered() -> None:
    events = [_ev(1, EventKind.ORDER_ADD, 1_000, order_id=1, side=1, price=100, qty=5)]
    covered = QualityGate(3, declared=(0, 2_000), coverage_tolerance_ns=1_000)
    covered.feed(to_record_batch(events))
    assert covered.finish().verdict == "passed"
    short = QualityGate(3, declared=(0, 10_000), coverage_tolerance_ns=1_000)
    short.feed(to_record_batch(events))
    assert short.finish().verdict == "uncovered"


def test_a_batch_that_is_not_canonical_makes_the_dataset_unreadable() -> None:
    gate = QualityGate(3)
    gate.feed(to_record_batch([_ev(2, EventKind.TRADE), _ev(1, EventKind.TRADE)]))  # positions go back
    report = gate.finish()
    assert report.verdict == "unreadable" and "schema" in report.counts


def test_too_many_quarantined_rows_fail_the_dataset() -> None:
    gate = QualityGate(0, max_bad_row_fraction=0.01)
    gate.feed(to_record_batch([_ev(i, EventKind.TRADE, i, price=100) for i in range(1, 101)]))
    assert gate.finish(quarantined_rows=1).verdict == "passed"
    gate = QualityGate(0, max_bad_row_fraction=0.01)
    gate.feed(to_record_batch([_ev(i, EventKind.TRADE, i, price=100) for i in range(1, 101)]))
    assert gate.finish(quarantined_rows=5).counts == {"bad_source_rows": 1}


def test_a_venue_sequence_that_goes_back_is_a_finding_except_inside_a_snapshot() -> None:
    events = [
        _ev(1, EventKind.LEVEL_SET, 1, Flag.SNAPSHOT | LAST, side=1, price=99, qty=1, sequence=9),
        _ev(
            2, EventKind.LEVEL_SET, 1, Flag.SNAPSHOT | LAST, side=1, price=98, qty=1, sequence=3
        ),  # any order
        _ev(3, EventKind.LEVEL_SET, 2, side=1, price=99, qty=2, sequence=10),
        _ev(4, EventKind.LEVEL_SET, 3, side=1, price=99, qty=3, sequence=10),  # repeats are fine (one packet)
        _ev(5, EventKind.LEVEL_SET, 4, side=1, price=99, qty=4, sequence=7),
    ]
    gate = QualityGate(2)
    gate.feed(to_record_batch(events))
    report = gate.finish()
    assert report.counts == {"sequence_backwards": 1} and report.examples["sequence_backwards"][0][0] == 5


files = st.lists(  # each file: (ts_exchange, ts_receive, price) rows; times may tie and go back
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 999)), max_size=25),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(files, st.sampled_from(list(MergeOrder)), st.integers(1, 7))
def test_the_merge_in_batches_is_the_merge_of_events(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[tuple[int, int, int]]],
    order: MergeOrder,
    batch: int,
) -> None:
    folder = tmp_path_factory.mktemp("merge")
    paths = [_write(folder / f"{rank}.parquet", file) for rank, file in enumerate(rows)]
    batches = list(feed_batches(paths, order, batch_rows=batch))
    merged = [ev for b in batches for ev in iter_events(b)]
    assert merged == list(feed(paths, order, batch_rows=batch))
