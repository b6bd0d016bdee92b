"""The Databento normalizer on Databento's own tiny DBN fixtures and on hand-written MBO CSV."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from canonicalflow.book import L3Book, apply_l3
from canonicalflow.data.normalize import Quarantine
from canonicalflow.data.normalize._databento import (
    databento_events,
    price_ticks,
    read_databento,
    tick_nanos,
)
from canonicalflow.errors import DataError
from canonicalflow.events import EVENT_SCHEMA, Event, EventKind, check_batch

LAST, SNAPSHOT, BAD_TS = 1, 2, 4
HEADER = (
    "ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,price,size,channel_id,order_id,"
    "flags,ts_in_delta,sequence,symbol"
)


@pytest.fixture
def dbn_data(shared_data: Path) -> Path:
    return shared_data / "dbn"


def _row(
    action: str,
    side: str = "B",
    price: str = "10.00",
    size: int = 100,
    order_id: int = 1,
    flags: int = 128,
    sequence: int = 1,
    ts: str = "2025-07-17T08:05:03.360677248Z",
    instrument_id: int = 1108,
) -> str:
    fields = (
        ts,
        ts,
        160,
        2,
        instrument_id,
        action,
        side,
        price,
        size,
        0,
        order_id,
        flags,
        0,
        sequence,
        "ARL",
    )
    return ",".join(str(field) for field in fields)


def _csv(tmp_path: Path, *rows: str, name: str = "mbo.csv") -> Path:
    path = tmp_path / name
    text = "\n".join([HEADER, *rows]) + "\n"
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _events(path: Path, tick: str = "0.01", instrument: object = 7, **kwargs: object) -> list[Event]:
    quarantine = kwargs.pop("quarantine", Quarantine(strict=True))
    return list(databento_events(path, tick, instrument, quarantine, **kwargs))  # type: ignore[arg-type]


def _short(ev: Event) -> tuple[int, ...]:
    return (ev.kind, ev.side, ev.price, ev.qty, ev.order_id, ev.flags)


# ------------------------------------------------------------------------------------ prices


def test_ticks_are_exact_and_refuse_what_is_between_them() -> None:
    assert tick_nanos("0.25") == 250_000_000
    assert tick_nanos("0.0001") == 100_000
    tick = tick_nanos("0.01")
    assert price_ticks("5.51", tick) == 551
    assert price_ticks("5.510000000", tick) == 551
    assert price_ticks("-0.03", tick) == -3
    assert price_ticks("13.575", tick) is None  # a half-cent midpoint print
    assert price_ticks("13.575", tick_nanos("0.005")) == 2715
    assert price_ticks("0.1", tick_nanos("0.1")) == 1  # no binary float anywhere
    assert price_ticks("abc", tick) is None
    for bad in ("0", "-0.25", "abc", "0.0000000001"):
        with pytest.raises(ValueError, match="tick size"):
            tick_nanos(bad)


# ------------------------------------------------------------------------------------ CSV


def test_each_action_side_and_flag_maps_to_its_event(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        _row("R", "N", "", 0, 0, flags=8),
        _row("A", "B", "5.51", 100, 11, flags=130),
        _row("A", "A", "5.60", 50, 12, flags=32),
        _row("M", "A", "5.59", 40, 12, flags=128),
        _row("C", "B", "5.51", 30, 11, flags=0),
        _row("T", "B", "5.59", 5, 0, flags=0),
        _row("T", "N", "5.555", 5, 0, flags=64),
        _row("N", "N", "", 0, 0, flags=168),
    )
    events = _events(path, tick="0.005")
    assert [_short(ev) for ev in events] == [
        (EventKind.BOOK_CLEAR, 0, 0, 0, 0, BAD_TS),
        (EventKind.ORDER_ADD, 1, 1102, 100, 11, LAST),
        (EventKind.ORDER_ADD, -1, 1120, 50, 12, SNAPSHOT),
        (EventKind.ORDER_MODIFY, -1, 1118, 40, 12, LAST),
        (EventKind.ORDER_CANCEL, 1, 1102, 30, 11, 0),
        (EventKind.TRADE, 1, 1118, 5, 0, 0),
        (EventKind.TRADE, 0, 1111, 5, 0, LAST),  # N's F_LAST passed back to the trade before it
    ]
    assert [ev.position for ev in events] == list(range(1, 8))
    first = events[1]
    assert first.ts_exchange == first.ts_receive == 1_752_739_503_360_677_248
    assert first.instrument == 7 and first.sequence == 1


def test_a_fill_is_the_cancel_that_takes_its_lots_off(tmp_path: Path) -> None:
    """Databento's F changes no book; the C after it does, and becomes the ORDER_FILL."""
    path = _csv(
        tmp_path,
        _row("A", "A", "13.40", 24, 5, sequence=1),
        _row("T", "B", "13.40", 1, 0, sequence=2),
        _row("F", "A", "13.40", 1, 5, sequence=2),
        _row("C", "A", "13.40", 1, 5, sequence=2),
        _row("C", "A", "13.40", 23, 5, sequence=3),
    )
    events = _events(path)
    assert [(ev.kind, ev.qty, ev.sequence) for ev in events] == [
        (EventKind.ORDER_ADD, 24, 1),
        (EventKind.TRADE, 1, 2),
        (EventKind.ORDER_FILL, 1, 2),
        (EventKind.ORDER_CANCEL, 23, 3),
    ]
    book = L3Book()
    assert [apply_l3(book, ev) for ev in events] == [None] * 4
    assert book.best(-1) is None


def test_a_cancel_beyond_the_filled_lots_or_after_a_modify_stays_a_cancel(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        _row("A", "B", "10.00", 13, 1),
        _row("A", "B", "10.00", 7, 2),
        _row("F", "B", "10.00", 1, 1),
        _row("C", "B", "10.00", 12, 1),  # removes more than was filled: mostly a cancel
        _row("F", "B", "10.00", 5, 2),
        _row("M", "B", "10.00", 2, 2),  # the fill came off by a modify
        _row("C", "B", "10.00", 2, 2),  # a later cancel is a cancel
        _row("F", "B", "10.00", 1, 1),
        _row("R", "N", "", 0, 0),  # a clear forgets the fill
        _row("A", "B", "10.00", 3, 1),
        _row("C", "B", "10.00", 1, 1),
    )
    kinds = [ev.kind for ev in _events(path)]
    assert kinds == [
        EventKind.ORDER_ADD,
        EventKind.ORDER_ADD,
        EventKind.ORDER_CANCEL,
        EventKind.ORDER_MODIFY,
        EventKind.ORDER_CANCEL,
        EventKind.BOOK_CLEAR,
        EventKind.ORDER_ADD,
        EventKind.ORDER_CANCEL,
    ]


def test_a_silent_records_packet_end_goes_to_the_event_before_it_across_batches(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        _row("A", "B", "10.00", 5, 1, flags=0),
        _row("T", "A", "10.00", 5, 0, flags=0),
        _row("F", "B", "10.00", 5, 1, flags=128),
        _row("C", "B", "10.00", 5, 1, flags=128),
    )
    for batch_size in (1, 2, 100):
        batches = list(read_databento(path, "0.01", 7, Quarantine(strict=True), batch_size=batch_size))
        assert all(batch.num_rows <= batch_size for batch in batches)
        flags = [f for batch in batches for f in batch.column("flags").to_pylist()]
        assert flags == [0, LAST, LAST]


def test_a_packet_end_is_not_passed_to_another_instrument(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        _row("A", "B", "10.00", 5, 1, flags=0, instrument_id=1),
        _row("N", "N", "", 0, 0, flags=128, instrument_id=2),
    )
    events = _events(path, instrument={1: 10, 2: 20})
    assert [(ev.instrument, ev.flags) for ev in events] == [(10, 0)]


def test_integer_ns_times_and_gzip(tmp_path: Path) -> None:
    path = _csv(tmp_path, _row("A", ts="1752739503360677248"), name="mbo.csv.gz")
    (ev,) = _events(path)
    assert ev.ts_exchange == 1_752_739_503_360_677_248


def test_batches_are_canonical_and_numbered_from_the_first_position(tmp_path: Path) -> None:
    path = _csv(tmp_path, *(_row("A", order_id=i) for i in range(1, 6)))
    batches = list(read_databento(path, "0.01", 3, Quarantine(strict=True), first_position=100, batch_size=2))
    assert [b.num_rows for b in batches] == [2, 2, 1]
    after = 99
    for batch in batches:
        assert batch.schema.equals(EVENT_SCHEMA)
        check_batch(batch, after)
        after = batch.column("position")[-1].as_py()
    assert after == 104


def test_bad_rows_are_quarantined_with_their_line_and_field(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        _row("A", "B", "10.00", 5, 1),  # line 2: good
        _row("A", "B", "10.005", 5, 2),  # 3: between ticks
        _row("X", "B", "10.00", 5, 3),  # 4
        _row("A", "Q", "10.00", 5, 4),  # 5
        _row("C", "N", "10.00", 5, 1),  # 6: an order needs a side
        _row("A", "B", "", 5, 5),  # 7: no price
        "1,2,3",  # 8: too few fields
        _row("A", "B", "10.00", -5, 6),  # 9
        _row("A", "B", "10.00", 5, 7, ts="yesterday"),  # 10
        _row("A", "B", "10.00", 5, 8, flags=300),  # 11
        _row("A", "B", "10.00", 5, 9, instrument_id=99),  # 12: not in the mapping
        _row("C", "B", "10.00", 5, 1),  # 13: good
    )
    quarantine = Quarantine()
    events = _events(path, instrument={1108: 1}, quarantine=quarantine)
    assert [ev.kind for ev in events] == [EventKind.ORDER_ADD, EventKind.ORDER_CANCEL]
    assert [(q.row, q.field) for q in quarantine.rows] == [
        (3, "price"),
        (4, "action"),
        (5, "side"),
        (6, "side"),
        (7, "price"),
        (8, "row"),
        (9, "size"),
        (10, "ts_event"),
        (11, "flags"),
        (12, "instrument_id"),
    ]
    assert all(q.file == str(path) for q in quarantine.rows)
    assert "whole number of ticks" in quarantine.rows[0].reason
    assert quarantine.rows[5].raw == "1,2,3"
    assert quarantine.to_table().num_rows == 10


def test_strict_mode_raises_at_the_first_bad_row(tmp_path: Path) -> None:
    path = _csv(tmp_path, _row("A"), _row("A", price="10.001"))
    with pytest.raises(DataError, match=r"mbo\.csv:3: field 'price'"):
        _events(path)


def test_a_file_that_is_not_mbo_csv_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "mbp.csv"
    other.write_text("ts_recv,ts_event,price\n1,2,3\n")
    with pytest.raises(DataError, match="no column"):
        _events(other)
    with pytest.raises(DataError, match="not a Databento file"):
        _events(tmp_path / "data.parquet")
    header_only = _csv(tmp_path, name="empty.csv")
    assert _events(header_only) == []


# ------------------------------------------------------------------------------------ DBN


def test_dbn_mbo_records_in_every_container(dbn_data: Path) -> None:
    expected = [
        (EventKind.ORDER_CANCEL, -1, 14891, 1, 647784973705, LAST),
        (EventKind.ORDER_CANCEL, -1, 14892, 1, 647784973631, LAST),
    ]
    for name in ("test_data.mbo.v3.dbn.zst", "test_data.mbo.v3.dbn", "test_data.mbo.dbn"):
        events = _events(dbn_data / name, tick="0.25", instrument={5482: 9})
        assert [_short(ev) for ev in events] == expected, name
        assert events[0].instrument == 9
        assert (events[0].ts_exchange, events[0].ts_receive) == (1609160400000429831, 1609160400000704060)
        assert events[0].sequence == 1170352


def test_dbn_price_off_the_tick_and_unknown_instrument_are_quarantined(dbn_data: Path) -> None:
    quarantine = Quarantine()
    events = _events(dbn_data / "test_data.mbo.v3.dbn.zst", tick="0.5", quarantine=quarantine)
    assert [(ev.price, ev.position) for ev in events] == [(7446, 1)]  # 3723 is on a 0.5 tick; 3722.75 is not
    assert [(q.row, q.field) for q in quarantine.rows] == [(1, "price")]
    assert "647784973705" in quarantine.rows[0].raw
    quarantine = Quarantine()
    assert (
        _events(dbn_data / "test_data.mbo.v3.dbn.zst", tick="0.25", instrument={1: 1}, quarantine=quarantine)
        == []
    )
    assert {q.field for q in quarantine.rows} == {"instrument_id"}
    with pytest.raises(DataError, match=r"test_data\.mbo\.v3\.dbn\.zst:1: field 'price'"):
        _events(dbn_data / "test_data.mbo.v3.dbn.zst", tick="0.5")


def test_dbn_mbp1_sets_the_levels_that_changed(dbn_data: Path) -> None:
    events = _events(dbn_data / "test_data.mbp-1.v3.dbn.zst", tick="0.25")
    assert [(ev.kind, ev.side, ev.price, ev.qty, ev.flags) for ev in events] == [
        (EventKind.LEVEL_SET, 1, 14881, 24, 0),  # first record: every level it shows
        (EventKind.LEVEL_SET, -1, 14882, 11, LAST),
        (EventKind.LEVEL_SET, -1, 14882, 12, LAST),  # second: only the ask grew
    ]


def test_dbn_mbp10_sets_changed_levels_and_clears_vanished_ones(dbn_data: Path) -> None:
    events = _events(dbn_data / "test_data.mbp-10.v3.dbn.zst", tick="0.25")
    first, second = events[:20], events[20:]
    assert all(ev.kind == EventKind.LEVEL_SET for ev in events)
    assert [ev.flags for ev in first] == [0] * 19 + [LAST]
    assert [(ev.side, ev.price, ev.qty) for ev in first[:2]] == [(1, 14881, 24), (1, 14880, 31)]
    assert [(ev.side, ev.price, ev.qty, ev.flags) for ev in second] == [(1, 14880, 30, LAST)]


def test_dbn_trades_and_tbbo(dbn_data: Path) -> None:
    trades = _events(dbn_data / "test_data.trades.v3.dbn.zst", tick="0.25")
    assert [_short(ev) for ev in trades] == [
        (EventKind.TRADE, -1, 14881, 5, 0, LAST),
        (EventKind.TRADE, -1, 14881, 21, 0, LAST),
    ]
    tbbo = _events(dbn_data / "test_data.tbbo.v3.dbn.zst", tick="0.25")
    assert [ev.kind for ev in tbbo] == [EventKind.TRADE, EventKind.LEVEL_SET, EventKind.LEVEL_SET] * 2
    assert [ev.flags for ev in tbbo] == [0, 0, LAST] * 2


def test_dbn_records_that_are_not_book_data_are_quarantined(dbn_data: Path) -> None:
    quarantine = Quarantine()
    assert _events(dbn_data / "test_data.status.v3.dbn.zst", tick="0.25", quarantine=quarantine) == []
    assert [q.row for q in quarantine.rows] == [1, 2, 3, 4]
    assert {q.field for q in quarantine.rows} == {"rtype"}
    with pytest.raises(DataError, match="rtype"):
        _events(dbn_data / "test_data.definition.v3.dbn.zst", tick="0.25")


def test_damaged_dbn_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.dbn"
    path.write_bytes(b"not dbn at all, just bytes" * 10)
    with pytest.raises(DataError, match=r"broken\.dbn"):
        _events(path, tick="0.25")
