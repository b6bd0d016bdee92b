"""CME Globex ES MBO from Databento DBN: the canonical events replay into a consistent order book.

There is no independent MBP file for these windows, so the checks are internal: every cancel,
modify and fill names a live order (no book findings), the book is never crossed where the venue
says an update is complete (LAST_IN_PACKET) once the market is open, and the snapshot at the start
of the 2023-12-25 file is the whole 2023-12-24 file.

"Once the market is open": the live part of the 12-25 file starts at 22:00 UTC, in Globex's
pre-open (the holiday reopen is 17:00 CT = 23:00 UTC). In pre-open orders may cross, and they do:
the book is crossed after 891 complete updates between 22:39:55 and 22:59:59.9997, and the opening
auction at 23:00:00 (one T of 44 lots with side N, then its F fills) uncrosses it. From that trade
on it is never crossed. So the test asserts exactly that, not "never crossed" over the whole file.

The record counts are facts of the data (README section 3), read with Databento's own decoder; the
event counts follow from the mapping: each A, M, T is one event, each C one (an ORDER_FILL when it
removes lots an F filled), each F none.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from pathlib import Path
from typing import Any

import databento_dbn as dbn

from canonicalflow.book import ASK, BID, BookFinding, L2Book, L3Book, replay_books
from canonicalflow.data.normalize import Quarantine
from canonicalflow.data.normalize._databento import databento_events
from canonicalflow.events import Event, EventKind, Flag

ES = "0.25"
ESH4 = 17077


def _records(path: Path) -> list[Any]:
    decoder = dbn.DBNDecoder(compression=dbn.Compression.ZSTD)
    return [r for r in decoder.write_and_decode(path.read_bytes()) if not isinstance(r, dbn.Metadata)]


def _replay(events: list[Event]) -> tuple[L3Book, list[BookFinding]]:
    """The one instrument's order book after `events`, and what replaying them found."""
    findings: list[BookFinding] = []
    books = {ev.instrument: book for ev, book in replay_books(events, findings=findings)}
    (book,) = books.values()
    assert isinstance(book, L3Book)
    return book, findings


def _state(book: L3Book) -> tuple[object, ...]:
    return (
        book.top(BID, book.depth(BID)),
        book.top(ASK, book.depth(ASK)),
        sorted(book.orders.items()),
    )


def test_esh4_day_replays_without_findings_and_never_crosses(shared_data: Path) -> None:
    path = shared_data / "nautilus" / "databento" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
    records = _records(path)
    assert len(records) == 68_792
    snapshot = sum(1 for r in records if r.flags & dbn.F_SNAPSHOT)
    live = Counter(r.action.value for r in records if not r.flags & dbn.F_SNAPSHOT)
    assert snapshot == 8_725
    assert live == {"A": 20_491, "C": 17_999, "M": 12_233, "T": 2_973, "F": 6_371}
    assert {r.instrument_id for r in records} == {ESH4}

    events = list(databento_events(path, ES, {ESH4: 1}, Quarantine(strict=True)))
    kinds = Counter(EventKind(ev.kind).name for ev in events)
    assert kinds["ORDER_ADD"] == 8_725 + 20_491
    assert kinds["ORDER_MODIFY"] == 12_233
    assert kinds["TRADE"] == 2_973
    assert kinds["ORDER_FILL"] + kinds["ORDER_CANCEL"] == 17_999
    assert kinds["ORDER_FILL"] == 5_329  # the rest of the F lots come off by M (974) or a larger C (4)
    assert len(events) == 68_792 - 6_371
    assert [ev.position for ev in events] == list(range(1, len(events) + 1))
    assert sum(1 for ev in events if ev.flags & Flag.SNAPSHOT) == 8_725

    book, findings = _replay(events)
    opening = next(ev for ev in events if ev.kind == EventKind.TRADE)  # the opening auction
    assert (opening.ts_exchange, opening.side, opening.qty) == (1_703_545_200_000_000_000, 0, 44)
    assert {f.code for f in findings} == {"crossed_book"}  # every C/M/F names a live order
    crossed = [f.position for f in findings]
    assert len(crossed) == 891
    assert max(crossed) < opening.position  # crossed only in pre-open, never after the open
    assert not book.crossed()
    checked = sum(1 for ev in events[opening.position :] if ev.flags & Flag.LAST_IN_PACKET)
    assert checked > 40_000  # the crossing check ran on the open market


def test_esh4_opening_snapshot_is_the_previous_days_file(shared_data: Path) -> None:
    folder = shared_data / "nautilus" / "databento"
    day = list(
        databento_events(folder / "esh4-glbx-mdp3-20231225.mbo.dbn.zst", ES, 1, Quarantine(strict=True))
    )
    before = list(
        databento_events(folder / "esh4-glbx-mdp3-20231224.mbo.dbn.zst", ES, 1, Quarantine(strict=True))
    )
    assert len(before) == 8_725
    assert all(ev.flags & Flag.SNAPSHOT for ev in before)
    opening = day[:8_725]
    assert all(ev.flags & Flag.SNAPSHOT for ev in opening)
    assert not day[8_725].flags & Flag.SNAPSHOT

    # Each record is the same order at the same time and place; only the receive time differs (each
    # file's snapshot was taken at its own start), and only the 12-24 file marks its last record
    # F_LAST, since the 12-25 snapshot runs straight into the live data.
    def order(ev: Event) -> tuple[int, ...]:
        return (ev.kind, ev.ts_exchange, ev.sequence, ev.order_id, ev.side, ev.price, ev.qty)

    assert [order(ev) for ev in opening] == [order(ev) for ev in before]
    book_before, findings_before = _replay(before)
    book_opening, findings_opening = _replay(opening)
    assert findings_before == findings_opening == []
    assert _state(book_before) == _state(book_opening)
    assert len(book_before.orders) == 8_725


def test_esm4_snapshot_then_live_replays_without_findings(shared_data: Path) -> None:
    path = (
        shared_data
        / "nautilus"
        / "databento"
        / "esm4_orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"
    )
    records = _records(path)
    assert len(records) == 13_796
    assert sum(1 for r in records if r.flags & dbn.F_SNAPSHOT) == 13_601
    assert records[0].action.value == "R"
    fills = sum(1 for r in records if r.action.value == "F")

    events = list(databento_events(path, ES, 1, Quarantine(strict=True)))
    assert len(events) == len(records) - fills
    assert events[0].kind == EventKind.BOOK_CLEAR
    book, findings = _replay(events)
    assert findings == []
    assert book.depth(BID) and book.depth(ASK)


def test_esu4_mbp1_trades_equal_the_trades_file_and_levels_track_the_top(shared_data: Path) -> None:
    """MBP-1 and the trades schema come from the same feed: the same trades. The levels set from
    each MBP-1 record are the record's own best bid and ask."""
    folder = shared_data / "nautilus" / "databento"
    mbp = folder / "esu4_futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst"
    trades = folder / "esu4_futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst"
    mbp_events = list(databento_events(mbp, ES, 1, Quarantine(strict=True)))
    trade_events = list(databento_events(trades, ES, 1, Quarantine(strict=True)))

    def trade(ev: Event) -> tuple[int, ...]:
        return (ev.ts_exchange, ev.ts_receive, ev.sequence, ev.side, ev.price, ev.qty)

    from_mbp = [trade(ev) for ev in mbp_events if ev.kind == EventKind.TRADE]
    assert len(from_mbp) == 120
    assert from_mbp == [trade(ev) for ev in trade_events]

    # Replay the LEVEL_SETs into a price-level book: after the events of the records with one
    # (ts_recv, sequence), the best bid and ask are those of the last of those records. Records
    # that changed no level and are no trade made no event; they are passed over.
    records = groupby(_records(mbp), lambda r: (r.ts_recv, r.sequence))
    tops = iter([(k, list(group)[-1].levels[0]) for k, group in records])
    book = L2Book()
    compared = 0
    for k, group in groupby(mbp_events, lambda ev: (ev.ts_receive, ev.sequence)):
        events = list(group)
        for ev in events:
            if ev.kind == EventKind.LEVEL_SET:
                assert book.set_level(ev.side, ev.price, ev.qty) is None
        assert events[-1].flags & Flag.LAST_IN_PACKET
        shown_key, level = next(tops)
        while shown_key != k:
            shown_key, level = next(tops)
        assert book.best(BID) == (level.bid_px // 250_000_000, level.bid_sz, 0)
        assert book.best(ASK) == (level.ask_px // 250_000_000, level.ask_sz, 0)
        compared += 1
    assert compared > 2_000
