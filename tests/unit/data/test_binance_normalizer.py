"""The Binance normalizer on small hand-written captures: sync, gaps, exact units, quarantine."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from canonicalflow.book import ASK, BID, L2Book, apply_l2
from canonicalflow.data.normalize import Quarantine
from canonicalflow.data.normalize._binance import (
    AFTER_GAP,
    DISCONNECTED,
    NO_SNAPSHOT,
    SUPERSEDED,
    read_binance_batches,
    read_binance_stream,
)
from canonicalflow.data.normalize._common import to_units, units_converter
from canonicalflow.errors import DataError
from canonicalflow.events import EVENT_SCHEMA, Event, EventKind, Flag, check_batch, iter_events

LAST, SNAP = int(Flag.LAST_IN_PACKET), int(Flag.SNAPSHOT)
T0 = 1_723_161_256_000  # ms


# ------------------------------------------------------------------ capture lines
def line(ts: int, message: dict[str, Any], stream: str | None = None) -> str:
    """A capture line; wrapped as {"stream", "data"} when `stream` is given, as the venue sends it."""
    body = {"stream": stream, "data": message} if stream else message
    return f"{ts} {json.dumps(body, separators=(',', ':'))}"


def diff(
    ts: int,
    first: int,
    last: int,
    previous: int | None,
    bids: list[list[str]] | None = None,
    asks: list[list[str]] | None = None,
) -> str:
    """A depthUpdate; `previous` is the futures `pu` (None: a spot diff, which has none)."""
    message: dict[str, Any] = {"e": "depthUpdate", "E": T0 + ts, "s": "BTCUSDT", "U": first, "u": last}
    if previous is not None:
        message["pu"] = previous
    message["b"] = bids if bids is not None else [["100.0", "1.000"]]
    message["a"] = asks if asks is not None else []
    return line(ts, message, "btcusdt@depth")


def snapshot(ts: int, update: int, bids: list[list[str]], asks: list[list[str]]) -> str:
    return line(ts, {"lastUpdateId": update, "E": T0 + ts, "bids": bids, "asks": asks})


def ticker(ts: int, update: int, bid: str, bid_qty: str, ask: str, ask_qty: str) -> str:
    message = {"e": "bookTicker", "u": update, "b": bid, "B": bid_qty, "a": ask, "A": ask_qty, "E": T0 + ts}
    return line(ts, message, "btcusdt@bookTicker")


def trade(ts: int, trade_id: int, price: str, qty: str, buyer_is_maker: bool) -> str:
    message = {"e": "trade", "E": T0 + ts, "T": T0 + ts - 1, "t": trade_id, "p": price, "q": qty}
    return line(ts, {**message, "m": buyer_is_maker, "X": "MARKET"}, "btcusdt@trade")


def write(tmp_path: Path, lines: list[str], name: str = "capture.txt", gz: bool = False) -> Path:
    path = tmp_path / name
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def run(
    path: Path, quarantine: Quarantine | None = None, tick: str = "0.1", lot: str = "0.001", **options: Any
) -> tuple[list[Event], Quarantine]:
    sink = quarantine if quarantine is not None else Quarantine()
    events = list(read_binance_stream(path, 7, sink, tick_size=tick, lot_size=lot, **options))
    return events, sink


def kinds(events: list[Event]) -> list[str]:
    return [EventKind(ev.kind).name for ev in events]


# ------------------------------------------------------------------ synchronisation
def test_diffs_before_the_snapshot_wait_for_it_and_stale_ones_are_quarantined(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            diff(1, 1, 5, 0),  # u < lastUpdateId: superseded
            diff(2, 6, 10, 5, bids=[["100.0", "2.000"], ["99.9", "0.500"]], asks=[["100.2", "0.001"]]),
            diff(3, 11, 15, 10, bids=[["99.9", "0"]], asks=[]),
            snapshot(4, 8, bids=[["100.0", "1.000"]], asks=[["100.1", "3.000"], ["100.2", "4.000"]]),
            diff(5, 16, 20, 15, bids=[], asks=[["100.1", "0.000"]]),
        ],
    )
    events, quarantine = run(path)

    assert [(q.row, q.field, q.reason) for q in quarantine.rows] == [(1, "u", SUPERSEDED)]
    assert kinds(events) == [
        "BOOK_CLEAR",
        "SNAPSHOT_BEGIN",
        *["LEVEL_SET"] * 3,
        "SNAPSHOT_END",
        *["LEVEL_SET"] * 3,  # diff 6..10, released from the buffer: it spans lastUpdateId 8
        "LEVEL_SET",  # 11..15
        "LEVEL_SET",  # 16..20
    ]
    assert [ev.position for ev in events] == list(range(1, len(events) + 1))
    assert {ev.instrument for ev in events} == {7}
    assert [ev.sequence for ev in events] == [8] * 6 + [10] * 3 + [15, 20]
    assert [ev.flags for ev in events] == [SNAP] * 5 + [SNAP | LAST] + [0, 0, LAST, LAST, LAST]
    snapshot_receive = events[0].ts_receive
    assert snapshot_receive == 4 and events[0].ts_exchange == (T0 + 4) * 1_000_000
    # released diffs become usable with the snapshot; a live one keeps its own receive time
    assert [ev.ts_receive for ev in events[6:]] == [4, 4, 4, 4, 5]
    assert events[6].ts_exchange == (T0 + 2) * 1_000_000

    book = L2Book()
    for ev in events:
        assert apply_l2(book, ev) is None
    assert book.top(BID, 5) == [(1000, 2000, 0)]
    assert book.top(ASK, 5) == [(1002, 1, 0)]


def test_futures_sync_takes_the_diff_spanning_the_snapshot_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            diff(1, 1, 8, 0),  # u == lastUpdateId: spans it, applied
            snapshot(2, 8, bids=[["99.0", "1"]], asks=[["101.0", "1"]]),
            diff(3, 9, 12, 8),
        ],
    )
    events, quarantine = run(path, lot="1")
    assert quarantine.rows == []
    assert [ev.sequence for ev in events if ev.kind == EventKind.LEVEL_SET and not ev.flags & SNAP] == [8, 12]


def test_futures_sync_accepts_a_snapshot_between_two_diffs_of_the_symbol(tmp_path: Path) -> None:
    # futures ids are shared by all symbols: 6..9 changed other books, so pu 5 <= 7 < U 10 continues
    path = write(tmp_path, [snapshot(1, 7, [["99.0", "1"]], []), diff(2, 10, 12, 5)])
    events, quarantine = run(path, lot="1")
    assert quarantine.rows == [] and kinds(events)[-1] == "LEVEL_SET"


def test_spot_sync_needs_the_next_id_and_supersedes_u_equal_to_the_snapshot(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            diff(1, 1, 5, None),
            diff(2, 6, 10, None),  # u == lastUpdateId: spot supersedes it
            snapshot(3, 10, bids=[["99.00", "1"]], asks=[["101.00", "1"]]),
            diff(4, 11, 12, None),  # U == lastUpdateId + 1
            diff(5, 13, 13, None),
        ],
    )
    events, quarantine = run(path, tick="0.01", lot="1")  # market "auto": no `pu`, so spot
    assert [(q.row, q.reason) for q in quarantine.rows] == [(1, SUPERSEDED), (2, SUPERSEDED)]
    assert [ev.sequence for ev in events if ev.kind == EventKind.LEVEL_SET and not ev.flags & SNAP] == [
        12,
        13,
    ]
    assert EventKind.FEED_GAP not in {ev.kind for ev in events}


def test_a_futures_chain_break_is_a_gap_until_the_next_snapshot(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            snapshot(1, 10, bids=[["99.0", "1"]], asks=[["101.0", "1"]]),
            diff(2, 11, 15, 10),  # applied
            diff(3, 21, 25, 20),  # pu 20 != 15: updates 16..20 are lost
            ticker(4, 26, "99.0", "1", "101.0", "1"),  # tickers and trades flow on
            diff(5, 26, 30, 25),  # buffered, then superseded by snapshot 32
            diff(6, 31, 35, 30),  # spans 32: applied after the snapshot
            snapshot(7, 32, bids=[["98.0", "2"]], asks=[["102.0", "2"]]),
            diff(8, 36, 40, 35),
        ],
    )
    events, quarantine = run(path, lot="1")

    gap = next(ev for ev in events if ev.kind == EventKind.FEED_GAP)
    assert (gap.sequence, gap.gap_to, gap.ts_receive) == (16, 20, 3)
    assert [(q.row, q.reason) for q in quarantine.rows] == [(3, AFTER_GAP), (5, AFTER_GAP)]
    assert kinds(events) == [
        "BOOK_CLEAR",
        "SNAPSHOT_BEGIN",
        "LEVEL_SET",
        "LEVEL_SET",
        "SNAPSHOT_END",
        "LEVEL_SET",  # 11..15
        "FEED_GAP",
        "BBO",
        "BOOK_CLEAR",
        "SNAPSHOT_BEGIN",
        "LEVEL_SET",
        "LEVEL_SET",
        "SNAPSHOT_END",
        "LEVEL_SET",  # 31..35
        "LEVEL_SET",  # 36..40
    ]
    assert [ev.sequence for ev in events[-2:]] == [35, 40]


def test_a_dropped_socket_gives_the_book_up_until_a_new_snapshot(tmp_path: Path) -> None:
    """The live feed writes `DISCONNECTED` where its socket dropped: even if the chain would
    seem to go on, the book is not carried across it (FEED_GAP from the next id, extent unknown)."""
    path = write(
        tmp_path,
        [
            snapshot(1, 10, bids=[["99.0", "1"]], asks=[["101.0", "1"]]),
            diff(2, 11, 15, 10),  # applied
            f"3 {DISCONNECTED.decode()}",
            diff(4, 16, 20, 15),  # continues the chain, yet kept: the book was given up
            snapshot(5, 18, bids=[["98.0", "2"]], asks=[["102.0", "2"]]),
            diff(6, 21, 25, 20),
            f"7 {DISCONNECTED.decode()}",
            f"8 {DISCONNECTED.decode()}",  # no book to lose: nothing more
        ],
    )
    events, quarantine = run(path, lot="1")
    gaps = [(ev.sequence, ev.gap_to, ev.ts_receive) for ev in events if ev.kind == EventKind.FEED_GAP]
    assert gaps == [(16, 0, 3), (26, 0, 7)]
    assert [ev.sequence for ev in events if ev.kind == EventKind.LEVEL_SET and not ev.flags & SNAP] == [
        15,
        20,
        25,
    ]
    assert quarantine.rows == []


def test_a_spot_chain_break_names_the_missing_ids_and_quarantines_to_the_end(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            snapshot(1, 10, bids=[["99.00", "1"]], asks=[["101.00", "1"]]),
            diff(2, 11, 12, None),
            diff(3, 16, 18, None),  # U should be 13: 13..15 are lost
            diff(4, 19, 20, None),
        ],
    )
    events, quarantine = run(path, tick="0.01", lot="1", market="spot")
    gap = events[-1]
    assert (gap.kind, gap.sequence, gap.gap_to) == (EventKind.FEED_GAP, 13, 15)
    assert [(q.row, q.field, q.reason) for q in quarantine.rows] == [(3, "u", AFTER_GAP), (4, "u", AFTER_GAP)]


def test_a_diff_that_cannot_be_read_shows_as_a_gap(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            snapshot(1, 10, bids=[["99.0", "1"]], asks=[["101.0", "1"]]),
            diff(2, 11, 15, 10, bids=[["99.0", "2"], ["98.0", "x"]]),  # bad quantity
            diff(3, 16, 20, 15),
        ],
    )
    events, quarantine = run(path, lot="1")
    assert [(q.row, q.field) for q in quarantine.rows[:1]] == [(2, "b[1].qty")]
    assert quarantine.rows[0].reason == "not a decimal string: 'x'"
    gap = next(ev for ev in events if ev.kind == EventKind.FEED_GAP)
    assert (gap.sequence, gap.gap_to) == (11, 15)
    assert quarantine.rows[1][1:4] == (3, "u", AFTER_GAP)  # the file ends before a new snapshot


def test_diffs_without_a_snapshot_are_quarantined_at_the_end_or_when_too_many_wait(tmp_path: Path) -> None:
    path = write(tmp_path, [diff(1, 1, 5, 0), diff(2, 6, 10, 5), diff(3, 11, 15, 10)])
    events, quarantine = run(path, max_pending=2)
    assert events == []
    assert [(q.row, q.reason) for q in quarantine.rows] == [
        (1, NO_SNAPSHOT),
        (2, NO_SNAPSHOT),
        (3, NO_SNAPSHOT),
    ]


def test_a_snapshot_older_than_the_book_is_quarantined(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            snapshot(1, 10, bids=[["99.0", "1"]], asks=[]),
            diff(2, 11, 15, 10),
            snapshot(3, 12, bids=[["99.0", "1"]], asks=[]),
            diff(4, 11, 14, 9),  # already applied: u <= 15
        ],
    )
    events, quarantine = run(path, lot="1")
    assert [(q.row, q.field) for q in quarantine.rows] == [(3, "lastUpdateId"), (4, "u")]
    assert "older than the book" in quarantine.rows[0].reason
    assert EventKind.FEED_GAP not in {ev.kind for ev in events}


# ------------------------------------------------------------------ exact units
@pytest.mark.parametrize(
    ("text", "unit", "units"),
    [
        ("61800.20", "0.1", 618002),
        ("61800.2", "0.10", 618002),
        ("0.001", "0.001", 1),
        ("2.507", "0.001", 2507),
        ("0.00000000", "0.001", 0),
        ("1001", "1", 1001),
        ("1.5", "0.5", 3),
        ("120", "10", 12),
        ("25.42618900", "0.000001", 25426189),
        ("123456789012345678.123456789", "0.000000001", 123456789012345678123456789),  # beyond a float
    ],
)
def test_decimal_strings_become_whole_units_exactly(text: str, unit: str, units: int) -> None:
    assert to_units(text, unit) == units


@pytest.mark.parametrize(
    ("text", "unit", "reason"),
    [
        ("61800.25", "0.1", "61800.25 is not a whole multiple of 0.1"),
        ("0.0001", "0.001", "0.0001 is not a whole multiple of 0.001"),
        ("1.25", "0.5", "1.25 is not a whole multiple of 0.5"),
        ("125", "10", "125 is not a whole multiple of 10"),
        ("1e3", "1", "not a decimal string"),
        ("-1.0", "0.1", "not a decimal string"),
        (" 1", "1", "not a decimal string"),
        ("1_000", "1", "not a decimal string"),
        ("", "1", "not a decimal string"),
    ],
)
def test_values_that_are_not_whole_units_are_refused(text: str, unit: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        to_units(text, unit)


@pytest.mark.parametrize("unit", ["0", "0.000", "-0.1", "1e-3", "abc", ""])
def test_a_unit_must_be_a_positive_decimal_string(unit: str) -> None:
    with pytest.raises(ValueError, match="not a positive decimal"):
        units_converter(unit)


def test_a_price_off_the_tick_grid_is_quarantined_not_rounded(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [ticker(1, 5, "61800.25", "1.000", "61800.30", "2.000"), trade(2, 9, "61800.3", "0.0005", False)],
    )
    events, quarantine = run(path)
    assert events == []
    assert [(q.row, q.field, q.reason) for q in quarantine.rows] == [
        (1, "b", "61800.25 is not a whole multiple of 0.1"),
        (2, "q", "0.0005 is not a whole multiple of 0.001"),
    ]


# ------------------------------------------------------------------ tickers and trades
def test_bookticker_becomes_a_bbo(tmp_path: Path) -> None:
    path = write(tmp_path, [ticker(3, 42, "61800.20", "2.507", "61800.30", "0.010")])
    (bbo,), _ = run(path)
    assert (bbo.kind, bbo.sequence, bbo.flags) == (EventKind.BBO, 42, LAST)
    assert (bbo.bid_price, bbo.bid_qty, bbo.ask_price, bbo.ask_qty) == (618002, 2507, 618003, 10)
    assert (bbo.ts_receive, bbo.ts_exchange) == (3, (T0 + 3) * 1_000_000)


def test_a_spot_bookticker_without_event_time_gets_the_latest_exchange_time(tmp_path: Path) -> None:
    spot_ticker = line(9, {"u": 12, "s": "BTCUSDT", "b": "1.00", "B": "1", "a": "1.01", "A": "2"})
    path = write(tmp_path, [trade(5, 1, "1.00", "1", True), spot_ticker])
    (first, bbo), quarantine = run(path, tick="0.01", lot="1")
    assert quarantine.rows == []
    assert bbo.kind == EventKind.BBO and bbo.ts_exchange == first.ts_exchange == (T0 + 4) * 1_000_000


@pytest.mark.parametrize(("buyer_is_maker", "aggressor"), [(True, -1), (False, 1)])
def test_a_trade_carries_its_aggressor_side(tmp_path: Path, buyer_is_maker: bool, aggressor: int) -> None:
    path = write(tmp_path, [trade(7, 5266583935, "61800.30", "0.006", buyer_is_maker)])
    (ev,), _ = run(path)
    assert (ev.kind, ev.side, ev.price, ev.qty) == (EventKind.TRADE, aggressor, 618003, 6)
    assert ev.trade_id == ev.sequence == 5266583935
    assert ev.ts_exchange == (T0 + 6) * 1_000_000  # the trade time T, not the event time E


def test_a_trade_that_did_not_happen_on_the_book_is_quarantined(tmp_path: Path) -> None:
    message = json.loads(trade(1, 3, "1.0", "1", False).split(" ", 1)[1])["data"]
    path = write(tmp_path, [line(1, {**message, "X": "INSURANCE_FUND"})])
    events, quarantine = run(path, lot="1")
    assert events == [] and quarantine.rows[0].field == "X"


# ------------------------------------------------------------------ bad lines
def test_bad_lines_are_quarantined_with_file_line_field_and_reason(tmp_path: Path) -> None:
    good = ticker(1, 5, "1.0", "1", "1.1", "1")
    missing_u = diff(2, 1, 5, 0).replace(',"u":5', "")
    path = write(
        tmp_path,
        [
            good,
            '2 {"e":"depthUpdate",',  # truncated JSON
            missing_u,
            "not-a-time {}",
            '5 {"e":"aggTrade","p":"1"}',
            "6 [1, 2]",
            line(7, {"e": "bookTicker", "u": "5", "b": "1.0", "B": "1", "a": "1.1", "A": "1"}),
            line(8, {"e": "depthUpdate", "E": T0, "U": 1, "u": 2, "pu": 0, "b": [["1.0"]], "a": []}),
            "",
            good,
        ],
    )
    events, quarantine = run(path, lot="1")
    assert [ev.kind for ev in events] == [EventKind.BBO, EventKind.BBO]
    assert [(q.file, q.row, q.field) for q in quarantine.rows] == [
        (str(path), 2, "json"),
        (str(path), 3, "u"),
        (str(path), 4, "ts_receive"),
        (str(path), 5, "e"),
        (str(path), 6, "json"),
        (str(path), 7, "u"),
        (str(path), 8, "b[0]"),
    ]
    reasons = [q.reason for q in quarantine.rows]
    assert reasons[0].startswith("malformed JSON")
    assert reasons[1] == "missing"
    assert reasons[3] == "unsupported message type 'aggTrade'"
    assert reasons[4] == "not a JSON object"
    assert reasons[5] == "not an integer: '5'"
    assert reasons[6] == "not a [price, quantity] pair"
    assert quarantine.rows[1].raw == missing_u  # the whole line is kept


def test_strict_mode_raises_naming_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, [ticker(1, 5, "1.0", "1", "1.1", "1"), '2 {"e":"trade",'])
    with pytest.raises(DataError, match=rf"^{path}:2: field 'json': malformed JSON"):
        run(path, Quarantine(strict=True), lot="1")


# ------------------------------------------------------------------ files and batches
def test_gzip_and_plain_files_give_the_same_events(tmp_path: Path) -> None:
    lines = [
        snapshot(1, 10, [["99.0", "1"]], [["101.0", "1"]]),
        diff(2, 11, 12, 10),
        trade(3, 1, "100.0", "1", True),
    ]
    plain, _ = run(write(tmp_path, lines), lot="1")
    zipped, _ = run(write(tmp_path, lines, "capture.gz", gz=True), lot="1")
    assert plain == zipped and len(plain) == 7


def test_batches_hold_the_same_events_in_the_canonical_schema(tmp_path: Path) -> None:
    lines = [
        diff(1, 1, 5, 0),
        snapshot(2, 8, [["99.0", "1"], ["98.0", "2"]], [["101.0", "1"]]),
        diff(3, 6, 10, 5, bids=[["99.0", "3"], ["97.0", "1"]], asks=[["101.0", "0"]]),
        ticker(4, 10, "99.0", "3", "101.5", "1"),
        trade(5, 77, "99.0", "1", True),
        diff(6, 20, 21, 19),
    ]
    path = write(tmp_path, lines)
    events, _ = run(path, lot="1")
    batches = list(read_binance_batches(path, 7, Quarantine(), tick_size="0.1", lot_size="1", batch_size=5))
    assert [b.num_rows for b in batches] == [5, 5, 2]
    after = 0
    for batch in batches:
        assert batch.schema.equals(EVENT_SCHEMA)
        check_batch(batch, after)
        after = batch.column("position")[-1].as_py()
    assert [ev for batch in batches for ev in iter_events(batch)] == events
    assert events[-1].kind == EventKind.FEED_GAP and (events[-1].sequence, events[-1].gap_to) == (11, 19)


def test_arguments_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, [ticker(1, 5, "1.0", "1", "1.1", "1")])
    with pytest.raises(ValueError, match="market"):
        run(path, market="options")
    with pytest.raises(ValueError, match="batch_size"):
        next(read_binance_batches(path, 1, Quarantine(), tick_size="0.1", lot_size="1", batch_size=0))


def test_an_explicit_futures_market_requires_pu(tmp_path: Path) -> None:
    path = write(tmp_path, [diff(1, 1, 5, None)])
    _, quarantine = run(path, market="usdm")
    assert [(q.row, q.field, q.reason) for q in quarantine.rows] == [(1, "pu", "missing")]
