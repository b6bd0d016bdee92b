"""Databento ARL (Nasdaq): MBP-10 rows rebuilt from the canonical MBO events equal every row of mbp.csv.

`mbp.csv.gz` is a third party's answer (Blockhouse's work trial) to "replay mbo.csv into MBP-10":
skip the R row and start empty; a T -> F -> C sequence is one T row, printed on the resting
side, and only the C changes the book; a T with side N does not change the book. Reading the two
files side by side (every row matched to its MBO record by ts_event, sequence, action and order
id) gives the rule for which MBO records print a row:

* the R record prints one (the empty book);
* every T prints one, on the resting side (the side opposite the aggressor's; N stays N) and with
  `depth` 0; when an F follows, the row shows the book after the C that removes the filled lots;
  the F and that C print nothing of their own;
* an A or C prints a row when its price level is among the best 11 of its side (`depth` 0..10,
  counted before the change): one level past the 10 shown. Off the reference's own edge, a C that
  empties the bid level at depth 11 prints one too (8 rows; the same on the ask side never does):
  the reference measures a bid level's depth after removing it, so it sees 10 levels above.

The canonical stream says the same thing its own way: the F makes no event, the C that takes the
filled lots off is an ORDER_FILL right after the TRADE. Prices are in ticks of $0.0001: Nasdaq
prints midpoint trades at half cents (13.575), which a one-cent tick would refuse.

The rows are compared in full: ts_event, action, side, depth, price, size, flags (as canonical
flags), sequence, order_id and the 60 book columns (bid/ask px, sz, ct for levels 00..09). The
reference's ts_recv column repeats ts_event, so it is not compared. Every one of the 3,928 rows
matches.
"""

from __future__ import annotations

import csv
import datetime
import gzip
from collections.abc import Iterator
from pathlib import Path

from canonicalflow.book import ASK, BID, L3Book, apply_l3
from canonicalflow.data.normalize import Quarantine
from canonicalflow.data.normalize._databento import databento_events, price_ticks, tick_nanos
from canonicalflow.events import Event, EventKind, Flag

TICK = "0.0001"
ROWS = 3928
LEVELS = 10
_LETTER = {BID: "B", ASK: "A", 0: "N"}
_ACTION = {EventKind.ORDER_ADD: "A", EventKind.ORDER_CANCEL: "C", EventKind.BOOK_CLEAR: "R"}

Row = tuple[object, ...]


def _ns(text: str) -> int:
    """2025-07-17T07:05:09.035627674Z as integer ns since the epoch."""
    seconds, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.datetime.fromisoformat(seconds).replace(tzinfo=datetime.UTC)
    return int(moment.timestamp()) * 1_000_000_000 + int(fraction.ljust(9, "0"))


def _canonical_flags(databento_flags: int) -> int:
    return (
        (int(Flag.LAST_IN_PACKET) if databento_flags & 128 else 0)
        | (int(Flag.SNAPSHOT) if databento_flags & 32 else 0)
        | (int(Flag.BAD_RECEIVE_TS) if databento_flags & 8 else 0)
    )


def _expected(path: Path) -> Iterator[Row]:
    tick = tick_nanos(TICK)

    def px(text: str) -> int | None:
        return price_ticks(text, tick) if text else None

    with gzip.open(path, "rt", newline="") as text:
        for row in csv.DictReader(text):
            book = tuple(
                (
                    px(row[f"{side}_px_{i:02d}"]),
                    int(row[f"{side}_sz_{i:02d}"]),
                    int(row[f"{side}_ct_{i:02d}"]),
                )
                for side in ("bid", "ask")
                for i in range(LEVELS)
            )
            yield (
                _ns(row["ts_event"]),
                row["action"],
                row["side"],
                int(row["depth"]),
                px(row["price"]),
                int(row["size"]),
                _canonical_flags(int(row["flags"])),
                int(row["sequence"]),
                int(row["order_id"]),
                book,
            )


def _depth(book: L3Book, side: int, price: int) -> int:
    """How many levels of `side` are better than `price`."""
    better = 0
    for level_price, _, _ in book.top(side, LEVELS + 2):
        if (level_price > price) if side == BID else (level_price < price):
            better += 1
    return better


def _row(ev: Event, action: str, side: int, depth: int, book: L3Book) -> Row:
    levels = []
    for book_side in (BID, ASK):
        shown = book.top(book_side, LEVELS)
        levels += shown + [(None, 0, 0)] * (LEVELS - len(shown))
    price = None if ev.kind == EventKind.BOOK_CLEAR else ev.price
    return (
        ev.ts_exchange,
        action,
        _LETTER[side],
        depth,
        price,
        ev.qty,
        ev.flags,
        ev.sequence,
        ev.order_id,
        tuple(levels),
    )


def _rebuilt(events: Iterator[Event], findings: list[tuple[int, str]]) -> Iterator[Row]:
    """The MBP-10 rows the reference prints, by the rule in the module docstring."""
    book = L3Book()
    trade: Event | None = None
    for ev in events:
        if trade is not None:
            resting = -trade.side
            depth = _depth(book, resting, trade.price) if resting else 0
            if ev.kind == EventKind.ORDER_FILL:  # the C of T -> F -> C: it shows in the T row
                if code := apply_l3(book, ev):
                    findings.append((ev.position, code))
                yield _row(trade, "T", resting, depth, book)
                trade = None
                continue
            yield _row(trade, "T", resting, depth, book)
            trade = None
        if ev.kind == EventKind.TRADE:
            trade = ev
            continue
        assert ev.kind in _ACTION, f"position {ev.position}: {EventKind(ev.kind).name} outside the rule"
        depth = _depth(book, ev.side, ev.price) if ev.kind != EventKind.BOOK_CLEAR else 0
        level = book.level(ev.side, ev.price) if ev.kind == EventKind.ORDER_CANCEL else None
        empties = level is not None and level.qty == ev.qty
        if code := apply_l3(book, ev):
            findings.append((ev.position, code))
        if (
            ev.kind == EventKind.BOOK_CLEAR
            or depth <= LEVELS
            or (empties and ev.side == BID and depth == LEVELS + 1)
        ):
            yield _row(ev, _ACTION[ev.kind], ev.side if ev.kind != EventKind.BOOK_CLEAR else 0, depth, book)
    if trade is not None:
        yield _row(trade, "T", -trade.side, 0, book)


def test_every_mbp10_row_equals_the_book_rebuilt_from_mbo(shared_data: Path) -> None:
    folder = shared_data / "databento_xnas_arl"
    quarantine = Quarantine(strict=True)
    findings: list[tuple[int, str]] = []
    rebuilt = _rebuilt(databento_events(folder / "mbo.csv.gz", TICK, 1, quarantine), findings)
    compared = 0
    for index, (got, want) in enumerate(zip(rebuilt, _expected(folder / "mbp.csv.gz"), strict=True)):
        assert got == want, f"mbp.csv row {index}:\n  rebuilt  {got}\n  expected {want}"
        compared += 1
    assert compared == ROWS
    assert findings == []  # every cancel and fill found its order
