"""Databento MBP-1 and MBP-10 CSV: the same events as the DBN they were written from, the ARL book, bad rows.

The differential tests write the CSV with `databento_dbn.Transcoder`, Databento's own CSV encoder
(pretty prices, and times both as ISO 8601 and as integer ns), so the layout is the real one.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import databento_dbn as dbn
import pytest

from canonicalflow.book import ASK, BID, L2Book, apply_l2
from canonicalflow.data.normalize import Quarantine
from canonicalflow.data.normalize._databento import databento_events, read_databento
from canonicalflow.errors import DataError
from canonicalflow.events import EVENT_SCHEMA, Event, EventKind, Flag, check_batch

LAST = int(Flag.LAST_IN_PACKET)
NANO = 1_000_000_000


@pytest.fixture
def shared(shared_data: Path) -> Path:
    return shared_data


def _events(path: Path, tick: str, instrument: object = 7, **kwargs: object) -> list[Event]:
    quarantine = kwargs.pop("quarantine", Quarantine(strict=True))
    return list(databento_events(path, tick, instrument, quarantine, **kwargs))  # type: ignore[arg-type]


# ------------------------------------------------------------------ DBN -> CSV, the same events


def _dbn_records(path: Path) -> list[object]:
    """Metadata first, then the records, decoded from a .dbn or .dbn.zst file."""
    zst = path.name.endswith(".zst")
    decoder = dbn.DBNDecoder(compression=dbn.Compression.ZSTD if zst else dbn.Compression.NONE)
    decoder.write(path.read_bytes())
    return decoder.decode()


def _to_csv(dbn_path: Path, csv_path: Path, *, pretty_ts: bool) -> Path:
    """The DBN file as Databento's CSV: decoded, then encoded again by Databento's CSV transcoder."""
    metadata, *records = _dbn_records(dbn_path)
    raw = bytes(metadata.encode()) + b"".join(bytes(record) for record in records)
    out = io.BytesIO()
    transcoder = dbn.Transcoder(
        out, dbn.Encoding.CSV, dbn.Compression.NONE, pretty_px=True, pretty_ts=pretty_ts, map_symbols=True
    )
    transcoder.write(raw)
    transcoder.flush()
    text = out.getvalue()
    csv_path.write_bytes(gzip.compress(text) if csv_path.name.endswith(".gz") else text)
    return csv_path


def _write_dbn(path: Path, records: list[object], schema: dbn.Schema) -> Path:
    metadata = dbn.Metadata("XNAS.ITCH", 0, dbn.SType.INSTRUMENT_ID, dbn.SType.INSTRUMENT_ID, schema)
    path.write_bytes(bytes(metadata.encode()) + b"".join(bytes(record) for record in records))
    return path


def _pair(bid: str | None = None, bid_sz: int = 0, ask: str | None = None, ask_sz: int = 0) -> dbn.BidAskPair:
    def px(text: str | None) -> int:
        return dbn.UNDEF_PRICE if text is None else int(Decimal(text) * NANO)

    return dbn.BidAskPair(bid_px=px(bid), ask_px=px(ask), bid_sz=bid_sz, ask_sz=ask_sz, bid_ct=1, ask_ct=1)


def _mbp10(
    action: str, side: str, price: str | None, size: int, levels: list[dbn.BidAskPair], **kw: int
) -> dbn.MBP10Msg:
    ts = kw.get("ts", 1_752_739_503_360_677_248)
    return dbn.MBP10Msg(
        2,
        kw.get("instrument_id", 1108),
        ts,
        dbn.UNDEF_PRICE if price is None else int(Decimal(price) * NANO),
        size,
        dbn.Action(action),
        dbn.Side(side),
        0,
        ts + kw.get("delay", 0),
        flags=kw.get("flags", 128),
        sequence=kw.get("sequence", 1),
        levels=(levels + [_pair()] * 10)[:10],
    )


def _synthetic_mbp10() -> list[object]:
    """Every case the differ tells apart: clear, trades (side N too), vanished levels, an unchanged
    book, empty levels (no price; a price with 0 lots), two instruments, snapshot and bad-ts flags."""
    book = [_pair("13.28", 100, "13.87", 100), _pair("13.04", 2, "14.10", 2), _pair("13.03", 100, None, 0)]
    moved = [_pair("13.28", 100, "13.87", 60), _pair("13.04", 2, "14.10", 2), _pair("13.00", 0, "14.15", 5)]
    return [
        _mbp10("R", "N", None, 0, [], flags=8, sequence=1),
        _mbp10("A", "B", "13.28", 100, book[:1], flags=32 | 128, sequence=2, delay=1_500),
        _mbp10("A", "A", "13.87", 100, book, flags=0, sequence=3),
        _mbp10("A", "B", "20.00", 5, [_pair("20.00", 5, "21.00", 1)], instrument_id=1109, sequence=4),
        _mbp10("T", "N", "13.575", 40, book, flags=0, sequence=5),  # a midpoint print: no book change
        _mbp10("C", "A", "13.87", 40, moved, sequence=6),
        _mbp10("T", "B", "13.87", 60, book[1:], flags=130, sequence=7),  # the best levels go
        _mbp10("M", "B", "13.03", 100, book[1:], sequence=8),  # the same book again: no event
        _mbp10("R", "N", None, 0, moved, instrument_id=1109, sequence=9),  # a clear, then these levels
    ]


@pytest.mark.parametrize("pretty_ts", [True, False], ids=["iso_times", "ns_times"])
def test_mbp_csv_gives_the_dbn_events_for_every_case(tmp_path: Path, pretty_ts: bool) -> None:
    dbn_path = _write_dbn(tmp_path / "book.mbp-10.dbn", _synthetic_mbp10(), dbn.Schema.MBP_10)
    csv_path = _to_csv(dbn_path, tmp_path / "book.mbp-10.csv", pretty_ts=pretty_ts)
    mapping = {1108: 1, 1109: 2}
    from_dbn = _events(dbn_path, "0.0005", mapping)
    assert _events(csv_path, "0.0005", mapping) == from_dbn
    kinds = [ev.kind for ev in from_dbn]
    assert kinds.count(EventKind.BOOK_CLEAR) == 2 and kinds.count(EventKind.TRADE) == 2
    assert sum(ev.qty == 0 for ev in from_dbn if ev.kind == EventKind.LEVEL_SET) >= 3  # vanished levels
    assert [ev.sequence for ev in from_dbn if ev.flags & LAST] == [1, 2, 3, 4, 5, 6, 7, 9]  # 8: no change


@pytest.mark.parametrize(
    ("fixture", "name"),
    [
        ("test_data.mbp-10.v3.dbn.zst", "mbp-10.csv"),
        ("test_data.mbp-1.v3.dbn.zst", "mbp-1.csv.gz"),
        ("test_data.tbbo.v3.dbn.zst", "tbbo.csv"),
    ],
)
@pytest.mark.parametrize("pretty_ts", [True, False], ids=["iso_times", "ns_times"])
def test_mbp_csv_of_databento_fixture_equals_its_dbn(
    shared: Path, tmp_path: Path, fixture: str, name: str, pretty_ts: bool
) -> None:
    dbn_path = shared / "dbn" / fixture
    csv_path = _to_csv(dbn_path, tmp_path / name, pretty_ts=pretty_ts)
    with gzip.open(csv_path, "rt") if name.endswith(".gz") else csv_path.open() as text:
        assert "bid_px_00" in text.readline()
    from_dbn = _events(dbn_path, "0.25")
    assert from_dbn  # the fixture has book data
    assert _events(csv_path, "0.25") == from_dbn


def test_mbp_csv_quarantines_the_records_dbn_does(shared: Path, tmp_path: Path) -> None:
    """At a 0.5 tick the fixtures' quarter prices are refused: the same records, the same fields."""
    for fixture in ("test_data.mbp-10.v3.dbn.zst", "test_data.mbp-1.v3.dbn.zst"):
        dbn_path = shared / "dbn" / fixture
        csv_path = _to_csv(dbn_path, tmp_path / f"{fixture}.csv", pretty_ts=True)
        from_dbn, from_csv = Quarantine(), Quarantine()
        assert _events(csv_path, "0.5", quarantine=from_csv) == _events(dbn_path, "0.5", quarantine=from_dbn)
        assert from_dbn.rows
        assert [(q.row + 1, q.field) for q in from_dbn.rows] == [(q.row, q.field) for q in from_csv.rows]


# ------------------------------------------------------------------ the ARL MBP-10 CSV into an L2 book

ARL_TICK = "0.0001"
ARL_ROWS = 3928


def _arl_ns(text: str) -> int:
    seconds, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.datetime.fromisoformat(seconds).replace(tzinfo=datetime.UTC)
    return int(moment.timestamp()) * NANO + int(fraction.ljust(9, "0"))


def _arl_ticks(text: str) -> int:
    ticks = Decimal(text) / Decimal(ARL_TICK)
    assert ticks == ticks.to_integral_value(), text
    return int(ticks)


def _arl_rows(path: Path) -> Iterator[tuple[dict[str, str], list[tuple[int, int]], list[tuple[int, int]]]]:
    """Each row with the (price in ticks, lots) of its non-empty bid and ask levels, best first."""
    with gzip.open(path, "rt", newline="") as text:
        for row in csv.DictReader(text):
            sides = (
                [
                    (_arl_ticks(row[f"{side}_px_{i:02d}"]), int(row[f"{side}_sz_{i:02d}"]))
                    for i in range(10)
                    if row[f"{side}_px_{i:02d}"] and int(row[f"{side}_sz_{i:02d}"])
                ]
                for side in ("bid", "ask")
            )
            yield row, *sides


def test_arl_mbp10_csv_replays_into_an_l2_book_row_by_row(shared: Path) -> None:
    path = shared / "databento_xnas_arl" / "mbp.csv.gz"
    quarantine = Quarantine()
    events = iter(_events(path, ARL_TICK, 1, quarantine=quarantine))
    assert quarantine.rows == []
    book = L2Book()
    previous: tuple[list[tuple[int, int]], list[tuple[int, int]]] | None = None
    rows = 0
    for row, bids, asks in _arl_rows(path):
        rows += 1
        # a record makes events when it trades, clears or changes a level; the last one is flagged
        if row["action"] in "TR" or (bids, asks) != previous:
            while True:
                ev = next(events)
                assert apply_l2(book, ev) is None
                if ev.flags & LAST:
                    break
            assert (ev.ts_exchange, ev.sequence) == (_arl_ns(row["ts_event"]), int(row["sequence"]))
        shown = [[(price, lots) for price, lots, _ in book.top(side, 11)] for side in (BID, ASK)]
        assert shown == [bids, asks], f"row {row['']} ({row['action']} {row['side']} {row['price']})"
        previous = (bids, asks)
    assert next(events, None) is None
    assert rows == ARL_ROWS


def test_arl_mbp10_csv_midpoint_trades_need_the_fine_tick(shared: Path) -> None:
    quarantine = Quarantine()
    _events(shared / "databento_xnas_arl" / "mbp.csv.gz", "0.01", 1, quarantine=quarantine)
    assert quarantine.rows
    assert {(q.field, q.raw.split(",")[6]) for q in quarantine.rows} == {("price", "T")}
    assert all("not a whole number of ticks of 0.01" in q.reason for q in quarantine.rows)


# ------------------------------------------------------------------ hand-written CSV

HEADER = (
    "ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,depth,price,size,flags,ts_in_delta,"
    "sequence,bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,bid_ct_00,ask_ct_00,symbol"
)
TS = "2025-07-17T08:05:03.360677248Z"


def _mbp1(
    action: str = "A",
    side: str = "B",
    price: str = "10.00",
    size: str = "5",
    bid: str = "10.00",
    bid_sz: str = "5",
    ask: str = "10.05",
    ask_sz: str = "7",
    **kw: str,
) -> str:
    fields = [
        kw.get("ts_recv", TS),
        kw.get("ts_event", TS),
        kw.get("rtype", "1"),
        "2",
        kw.get("instrument_id", "1108"),
        action,
        side,
        "0",
        price,
        size,
        kw.get("flags", "128"),
        "0",
        kw.get("sequence", "1"),
        bid,
        ask,
        bid_sz,
        ask_sz,
        "1",
        "1",
        "ARL",
    ]
    return ",".join(fields)


def _write(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "mbp-1.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_mbp_csv_bad_rows_are_quarantined_with_line_and_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _mbp1(sequence="1"),  # line 2: good
        _mbp1(bid="10.0x", sequence="2"),  # 3: malformed level price
        _mbp1(ask="10.003", sequence="3"),  # 4: between ticks
        _mbp1("T", "A", "1,5", sequence="4"),  # 5: a malformed price splits the row
        _mbp1("T", "A", "abc", sequence="5"),  # 6: malformed trade price
        _mbp1("T", "A", "", sequence="6"),  # 7: a trade without a price
        _mbp1("A", "B", "NaN", sequence="7"),  # 8: not a decimal, even where unused
        _mbp1(ask_sz="-7", sequence="8"),  # 9
        _mbp1("X", sequence="9"),  # 10
        _mbp1(side="Q", sequence="10"),  # 11
        _mbp1(ts_event="yesterday", sequence="11"),  # 12
        _mbp1(ts_recv="", sequence="12"),  # 13
        _mbp1(flags="300", sequence="13"),  # 14
        _mbp1(rtype="160", sequence="14"),  # 15: an MBO row
        _mbp1(instrument_id="99", sequence="15"),  # 16: not in the mapping
        _mbp1(size="", sequence="16"),  # 17: an empty count
        _mbp1(bid_sz="", sequence="17"),  # 18
        _mbp1(ts_event="99999999999999999999", sequence="18"),  # 19: past int64
        _mbp1(ask_sz="9", sequence="19"),  # 20: good
    )
    quarantine = Quarantine()
    events = _events(path, "0.01", {1108: 3}, quarantine=quarantine)
    assert [(q.row, q.field) for q in quarantine.rows] == [
        (3, "bid_px_00"),
        (4, "ask_px_00"),
        (5, "row"),
        (6, "price"),
        (7, "price"),
        (8, "price"),
        (9, "ask_sz_00"),
        (10, "action"),
        (11, "side"),
        (12, "ts_event"),
        (13, "ts_recv"),
        (14, "flags"),
        (15, "rtype"),
        (16, "instrument_id"),
        (17, "size"),
        (18, "bid_sz_00"),
        (19, "ts_event"),
    ]
    reasons = [q.reason for q in quarantine.rows]
    assert "not a decimal number" in reasons[0] and "'10.0x'" in reasons[0]
    assert "whole number of ticks of 0.01" in reasons[1]
    assert "not a decimal number" in reasons[3] and "not a decimal number" in reasons[5]
    assert all(q.file == str(path) for q in quarantine.rows)
    assert quarantine.rows[0].raw == _mbp1(bid="10.0x", sequence="2")
    # quarantined rows leave the book alone: the last good row diffs against line 2's levels
    assert [(ev.side, ev.price, ev.qty, ev.sequence, ev.instrument) for ev in events] == [
        (1, 1000, 5, 1, 3),
        (-1, 1005, 7, 1, 3),
        (-1, 1005, 9, 19, 3),
    ]


def test_mbp_csv_strict_mode_names_file_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, _mbp1(), _mbp1(bid="ten"))
    with pytest.raises(DataError, match=r"mbp-1\.csv:3: field 'bid_px_00'"):
        _events(path, "0.01")


def test_mbp_csv_without_a_needed_column_is_refused(tmp_path: Path) -> None:
    for dropped in ("ask_sz_00", "sequence", "ts_event"):
        names = HEADER.split(",")
        index = names.index(dropped)
        header = ",".join(names[:index] + names[index + 1 :])
        row = _mbp1().split(",")
        path = _write(tmp_path, ",".join(row[:index] + row[index + 1 :]), header=header)
        with pytest.raises(DataError, match=rf"mbp-1\.csv:1: not Databento MBP CSV: no column {dropped}$"):
            _events(path, "0.01")
    gap = HEADER.replace("symbol", "bid_px_02,symbol")  # level 02 named: levels 01 must be there too
    path = _write(tmp_path, _mbp1().replace("ARL", ",ARL"), header=gap)
    missing = "bid_px_01, bid_sz_01, ask_px_01, ask_sz_01, bid_sz_02, ask_px_02, ask_sz_02"
    with pytest.raises(DataError, match=f"no column {missing}$"):
        _events(path, "0.01")


def test_mbp_csv_off_tick_price_of_a_non_trade_is_unused_as_in_dbn(tmp_path: Path) -> None:
    """DBN uses a record's own price only for a trade, so an A at a price between ticks is fine."""
    path = _write(tmp_path, _mbp1("A", "A", "10.003", bid="", bid_sz="0"), _mbp1("T", "A", "10.00", "3"))
    events = _events(path, "0.01")
    assert [(ev.kind, ev.side, ev.price, ev.qty, ev.flags) for ev in events] == [
        (EventKind.LEVEL_SET, -1, 1005, 7, LAST),
        (EventKind.TRADE, -1, 1000, 3, 0),
        (EventKind.LEVEL_SET, 1, 1000, 5, LAST),
    ]


def test_mbp_csv_tolerates_extra_columns_any_order_and_ns_times(tmp_path: Path) -> None:
    header = (
        ",symbol,sequence,ts_event,ts_recv,instrument_id,action,side,price,size,flags,"
        "ask_sz_00,ask_px_00,bid_sz_00,bid_px_00,bid_ct_00,order_id"
    )
    rows = [
        "0,ARL,5,1752739503360677248,1752739503360677300,1108,A,B,10.00,5,0,7,10.05,5,10.00,1,11",
        "1,ARL,6,1752739503360677249,1752739503360677301,1108,C,A,10.05,7,128,0,,5,10.00,1,12",
    ]
    path = _write(tmp_path, *rows, header=header, name="mbp.csv.gz")
    path.write_bytes(gzip.compress(path.read_bytes()))
    events = _events(path, "0.05")
    assert [(ev.side, ev.price, ev.qty, ev.flags, ev.sequence) for ev in events] == [
        (1, 200, 5, 0, 5),
        (-1, 201, 7, LAST, 5),  # a record's last event ends its packet
        (-1, 201, 0, LAST, 6),  # the empty ask level: the level is gone
    ]
    assert (events[0].ts_exchange, events[0].ts_receive) == (1752739503360677248, 1752739503360677300)


def test_mbp_csv_batches_are_canonical_and_numbered(tmp_path: Path) -> None:
    rows = [_mbp1(bid_sz=str(lots), sequence=str(lots)) for lots in range(1, 6)]
    path = _write(tmp_path, *rows)
    batches = list(read_databento(path, "0.01", 3, Quarantine(strict=True), first_position=10, batch_size=2))
    assert [b.num_rows for b in batches] == [2, 2, 2]  # 2 events, then one per row
    after = 9
    for batch in batches:
        assert batch.schema.equals(EVENT_SCHEMA)
        check_batch(batch, after)
        after = batch.column("position")[-1].as_py()
    assert after == 15
    assert [f for b in batches for f in b.column("flags").to_pylist()] == [0, LAST, LAST, LAST, LAST, LAST]


def test_mbo_csv_empty_counts_and_huge_times_are_quarantined_not_raised(tmp_path: Path) -> None:
    """The MBO CSV reader's fast check let an empty count or a time past int64 through to a crash."""
    header = (
        "ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,price,size,channel_id,order_id,"
        "flags,ts_in_delta,sequence,symbol"
    )
    rows = [
        f"{TS},{TS},160,2,1108,A,B,10.00,,0,1,128,0,1,ARL",
        f"{TS},{TS},160,2,1108,A,B,10.00,5,0,1,,0,1,ARL",
        f"99999999999999999999,{TS},160,2,1108,A,B,10.00,5,0,1,128,0,1,ARL",
        f"{TS},{TS},160,2,1108,A,B,10.00,5,0,1,128,0,1,ARL",
    ]
    path = _write(tmp_path, *rows, header=header, name="mbo.csv")
    quarantine = Quarantine()
    assert [ev.kind for ev in _events(path, "0.01", quarantine=quarantine)] == [EventKind.ORDER_ADD]
    assert [(q.row, q.field) for q in quarantine.rows] == [(2, "size"), (3, "flags"), (4, "ts_recv")]
