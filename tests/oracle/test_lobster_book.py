"""LOBSTER: the L3 book rebuilt from the messages equals every row of the orderbook file.

A LOBSTER orderbook file shows the top N levels after each message, and the message file holds
only the messages that touch those N levels. So the book is seeded from orderbook row 0 (the
state after message 0), and a level that enters the window from beyond it without a message (a
level below emptied, or a level that had scrolled out came back) is read from the row it appears
in: the data holds nothing else about it. Every level the book already knew must match exactly;
those resynchronisations are counted. A level that vanished while out of sight is dropped.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import pytest

from canonicalflow.book import ASK, BID, L3Book, apply_l3
from canonicalflow.data.normalize import (
    Quarantine,
    lobster_date,
    read_lobster_messages,
    read_lobster_orderbook,
)
from canonicalflow.events import iter_events

FILES = [
    "aapl_10level_prefix/AAPL_2012-06-21_34200000_57600000_message_10.csv",
    "AMZN_2012-06-21_34200000_57600000_message_1.csv.gz",
    "GOOG_2012-06-21_34200000_57600000_message_1.csv.gz",
]


def _window(row: list[tuple[int, int, int, int]], side: int) -> dict[int, int]:
    """price -> lots of one side of an orderbook row, empty levels left out."""
    price_at, size_at = (0, 1) if side == ASK else (2, 3)
    return {level[price_at]: level[size_at] for level in row if level[price_at]}


def _in_range(price: int, side: int, shown: dict[int, int], levels: int) -> bool:
    """Whether `price` lies inside the window the row shows (all of the side when not full)."""
    if len(shown) < levels:
        return True
    worst = min(shown) if side == BID else max(shown)
    return price >= worst if side == BID else price <= worst


@pytest.mark.parametrize("name", FILES, ids=lambda n: Path(n).name.split("_")[0])
def test_every_orderbook_row_equals_the_rebuilt_book(shared_data: Path, name: str) -> None:
    messages = shared_data / "lobster" / name
    orderbook = messages.with_name(messages.name.replace("message", "orderbook"))
    _, _, levels = lobster_date(messages)
    quarantine = Quarantine(strict=True)
    events = (ev for batch in read_lobster_messages(messages, 1, quarantine) for ev in iter_events(batch))
    rows = read_lobster_orderbook(orderbook)
    book = L3Book()

    first_event, first_row = next(events), next(rows)
    apply_l3(book, first_event)
    for side in (BID, ASK):  # seed: the state after message 0
        for price, lots in _window(first_row, side).items():
            book.forget_level(side, price)
            assert book.set_level(side, price, lots) is None

    compared = resyncs = findings = 0
    previous = first_row
    for ev, row in zip(events, rows, strict=True):
        findings += apply_l3(book, ev) is not None
        for side in (BID, ASK):
            known = set(_window(previous, side)) | ({ev.price} if ev.side == side else set())
            shown = _window(row, side)
            for price, lots in shown.items():
                if price not in known:  # entered the window from beyond it: what it holds is news
                    book.forget_level(side, price)
                    book.set_level(side, price, lots)
                    resyncs += 1
            for price, _, _ in book.top(side, book.depth(side)):
                if not _in_range(price, side, shown, levels):
                    break
                if price not in shown and price not in known:
                    book.forget_level(side, price)  # emptied while out of sight
                    resyncs += 1
            expected = sorted(shown.items(), reverse=side == BID)
            assert [(p, q) for p, q, _ in book.top(side, levels)] == expected, (
                f"{name}: row {ev.position - 1} (message {ev.position}), side {side}"
            )
        compared += 1
        previous = row

    assert compared == sum(1 for _ in islice(read_lobster_orderbook(orderbook), 1, None))
    print(f"{name}: {compared} rows equal; {resyncs} levels read from beyond the window; {findings} findings")
    assert findings == 0  # every cancel and execution found its order or its level's unattributed lots
