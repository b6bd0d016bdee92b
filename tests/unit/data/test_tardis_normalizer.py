"""Tardis CSV: snapshot runs, updates grouped by timestamp, exact decimals, bad rows quarantined."""

from __future__ import annotations

from pathlib import Path

import pytest

from canonicalflow.book import ASK, BID, L2Book, apply_l2
from canonicalflow.data.normalize import Quarantine
from canonicalflow.data.normalize._common import to_units
from canonicalflow.data.normalize._tardis import read_tardis_book, read_tardis_trades
from canonicalflow.errors import DataError
from canonicalflow.events import EventKind, Flag

HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"


def _book_file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "deribit_incremental_book_L2_X.csv"
    path.write_text(HEADER + "".join(f"deribit,X,{row}\n" for row in rows))
    return path


def test_a_snapshot_then_updates_rebuild_the_book(tmp_path: Path) -> None:
    path = _book_file(
        tmp_path,
        [
            "1000,1100,true,ask,101.5,30",
            "1000,1100,true,bid,100,20",
            "2000,2100,false,bid,100.5,10",
            "2000,2100,false,ask,101.5,0",
            "3000,3100,false,ask,102,50",
        ],
    )
    events = list(read_tardis_book(path, 7, Quarantine(strict=True), tick_size="0.5", lot_size="10"))
    kinds = [EventKind(e.kind).name for e in events]
    assert kinds == [
        "BOOK_CLEAR",
        "SNAPSHOT_BEGIN",
        "LEVEL_SET",
        "LEVEL_SET",
        "SNAPSHOT_END",
        "LEVEL_SET",
        "LEVEL_SET",
        "LEVEL_SET",
    ]
    assert [e.position for e in events] == list(range(1, 9))
    complete = [e.position for e in events if e.flags & Flag.LAST_IN_PACKET]
    assert complete == [4, 5, 7, 8]  # the snapshot, its end marker, then one per timestamp
    assert events[5].ts_exchange == 2_000_000 and events[5].ts_receive == 2_100_000
    book = L2Book()
    for ev in events:
        apply_l2(book, ev)
    assert book.top(BID, 5) == [(201, 1, 0), (200, 2, 0)]
    assert book.top(ASK, 5) == [(204, 5, 0)]  # the snapshot's 101.5 was removed by amount 0


def test_values_convert_exactly_or_are_quarantined(tmp_path: Path) -> None:
    assert to_units("6421.5", "0.5") == 12843
    with pytest.raises(ValueError, match="not a whole multiple"):
        to_units("6421.25", "0.5")
    path = _book_file(
        tmp_path,
        [
            "1000,1100,false,bid,100.25,10",
            "1000,1100,false,up,100,10",
            "x,1100,false,bid,100,10",
            "1000,1100,false",
        ],
    )  # the last line is cut short
    quarantine = Quarantine()
    assert list(read_tardis_book(path, 1, quarantine, tick_size="0.5", lot_size="10")) == []
    assert [(q.row, q.field) for q in quarantine.rows] == [
        (2, "price"),
        (3, "side"),
        (4, "timestamp"),
        (5, "side"),
    ]
    with pytest.raises(DataError, match=r"X\.csv:2: field 'price'"):
        list(read_tardis_book(path, 1, Quarantine(strict=True), tick_size="0.5", lot_size="10"))


def test_trades_carry_the_aggressor_side_and_an_integer_id(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "bitmex,X,1,2,ccc3c1fa-212c,sell,8531.5,2152\n"
        "bitmex,X,3,4,991,buy,8532,1\n"
    )
    trades = list(read_tardis_trades(path, 1, Quarantine(strict=True), tick_size="0.5", lot_size="1"))
    assert [(t.side, t.price, t.qty, t.trade_id) for t in trades] == [
        (-1, 17063, 2152, 2),
        (1, 17064, 1, 991),
    ]


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="no column timestamp"):
        list(read_tardis_trades(path, 1, Quarantine(), tick_size="1", lot_size="1"))


def test_the_real_samples_normalize_without_a_bad_row(shared_data: Path) -> None:
    tardis = shared_data / "nautilus" / "tardis"
    quarantine = Quarantine(strict=True)
    book = list(
        read_tardis_book(
            tardis / "deribit_incremental_book_L2_BTC-PERPETUAL.csv",
            1,
            quarantine,
            tick_size="0.5",
            lot_size="10",
        )
    )
    trades = list(
        read_tardis_trades(tardis / "bitmex_trades_XBTUSD.csv", 1, quarantine, tick_size="0.5", lot_size="1")
    )
    assert sum(e.kind == EventKind.LEVEL_SET for e in book) == 15 and len(trades) == 10
