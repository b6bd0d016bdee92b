"""LOBSTER: the L3 book rebuilt from the canonical events equals every row of the orderbook file.

The canonical stream is the messages plus the level settings LOBSTER's window implies (levels that
enter the top N without a message; see `canonicalflow/data/normalize/_lobster_window.py`). The test
checks both halves: every orderbook row equals the book rebuilt from the stream, and no level
setting ever touches a level that was in sight, so each message's effect is checked against the
next row on its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from canonicalflow.book import ASK, BID, L3Book, apply_l3
from canonicalflow.data.normalize import (
    Quarantine,
    lobster_date,
    read_lobster_messages,
    read_lobster_orderbook,
    with_lobster_window,
)
from canonicalflow.events import EventKind, Flag, iter_events

FILES = [
    "aapl_10level_prefix/AAPL_2012-06-21_34200000_57600000_message_10.csv",
    "AMZN_2012-06-21_34200000_57600000_message_1.csv.gz",
    "GOOG_2012-06-21_34200000_57600000_message_1.csv.gz",
]
_BOOK_EVENTS = {EventKind.ORDER_ADD, EventKind.ORDER_CANCEL, EventKind.ORDER_FILL}


def _shown(row: list[tuple[int, int, int, int]], side: int) -> list[tuple[int, int]]:
    price_at, size_at = (0, 1) if side == ASK else (2, 3)
    return [(level[price_at], level[size_at]) for level in row if level[price_at]]


@pytest.mark.parametrize("name", FILES, ids=lambda n: Path(n).name.split("_")[0])
def test_every_orderbook_row_equals_the_book_rebuilt_from_the_canonical_stream(
    shared_data: Path, name: str
) -> None:
    messages = shared_data / "lobster" / name
    orderbook = messages.with_name(messages.name.replace("message", "orderbook"))
    _, _, levels = lobster_date(messages)
    source = (
        ev
        for batch in read_lobster_messages(messages, 1, Quarantine(strict=True))
        for ev in iter_events(batch)
    )
    stream = with_lobster_window(source, read_lobster_orderbook(orderbook), levels)
    rows = read_lobster_orderbook(orderbook)
    book = L3Book()
    previous: list[tuple[int, int, int, int]] = []
    row = next(rows)
    in_sight: dict[int, set[int]] = {BID: set(), ASK: set()}
    compared = settings = findings = 0
    for ev in stream:
        if ev.kind == EventKind.LEVEL_SET:
            settings += 1
            assert compared == 0 or ev.price not in in_sight[ev.side], f"a level in sight was set at {ev}"
        else:  # a message: the levels in sight are the previous row's and the one it touches
            in_sight = {side: {p for p, _ in _shown(previous, side)} for side in (BID, ASK)}
            if ev.kind in _BOOK_EVENTS:
                in_sight[ev.side].add(ev.price)
        finding = apply_l3(book, ev)
        findings += finding is not None and compared > 0  # before row 1 seeds it, the book knows nothing
        if ev.flags & Flag.LAST_IN_PACKET:
            for side in (BID, ASK):
                assert [(p, q) for p, q, _ in book.top(side, levels)] == _shown(row, side), (
                    f"{name}: orderbook row {ev.sequence} (1-based), side {side}"
                )
            compared += 1
            previous, row = row, next(rows, None)  # type: ignore[assignment]
    assert row is None and compared == ev.sequence  # every row compared
    assert findings == 0  # every cancel and execution found its order or unattributed lots
    print(f"{name}: {compared} rows equal; {settings} levels set from beyond the window")
