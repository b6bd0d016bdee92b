"""LOBSTER's window: the orderbook file shows only the top N levels, the message file only the
messages that touch them, so a level that enters the window from beyond it arrives without a
message. This module adds what the orderbook file says about such levels, as events, so the
canonical stream alone rebuilds every orderbook row.

After each message, for each side: a level the row shows that was not in sight before (not in the
previous row, not at the message's price) is set from the row, and a level the rebuilt book holds
inside the shown range but the row does not show (it emptied while out of sight) is set to 0.
Both are LEVEL_SET events flagged SNAPSHOT, meaning authoritative: an order-level book replaces
the level's content (its orders are unknown). Levels in sight are never touched, so every message
is still checked against the next row. The first row seeds the book after message 1; after a
message row that was quarantined, the next row is read whole again, the same way. Rows pair
with messages by the message's row number (its `sequence`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from canonicalflow.book import ASK, BID, L3Book, apply_l3
from canonicalflow.errors import DataError
from canonicalflow.events import Event, EventKind, Flag

__all__ = ["with_lobster_window"]

_LAST, _SNAPSHOT = int(Flag.LAST_IN_PACKET), int(Flag.SNAPSHOT)
_BOOK_EVENTS = frozenset((int(EventKind.ORDER_ADD), int(EventKind.ORDER_CANCEL), int(EventKind.ORDER_FILL)))
Row = list[tuple[int, int, int, int]]


def _shown(row: Row, side: int) -> dict[int, int]:
    price_at, size_at = (0, 1) if side == ASK else (2, 3)
    return {level[price_at]: level[size_at] for level in row if level[price_at]}


def _boundary(side: int, shown: dict[int, int], levels: int) -> int | None:
    """The worst price inside the shown window, or None when the side is not full (all of it shows)."""
    if len(shown) < levels:
        return None
    return min(shown) if side == BID else max(shown)


def with_lobster_window(events: Iterable[Event], rows: Iterable[Row], levels: int) -> Iterator[Event]:
    """The message events, each followed by the level settings its orderbook row implies; positions 1..n."""
    book = L3Book()
    previous: dict[int, dict[int, int]] | None = None
    position = 0
    numbered = enumerate(rows, 1)
    for ev in events:
        apply_l3(book, ev)
        line, row = next(numbered, (0, []))
        while line and line < ev.sequence:  # the messages between were quarantined:
            previous = None  # what they did is unknown, so every level is read from the row again
            line, row = next(numbered, (0, []))
        if line != ev.sequence:
            raise DataError(f"LOBSTER orderbook file ends before message row {ev.sequence}")
        shown = {BID: _shown(row, BID), ASK: _shown(row, ASK)}
        settings = _settings(book, ev, previous, shown, levels)
        position += 1
        yield ev._replace(position=position, flags=ev.flags & ~_LAST if settings else ev.flags | _LAST)
        for i, (side, price, lots) in enumerate(settings, 1):
            position += 1
            setting = Event(
                position=position,
                kind=int(EventKind.LEVEL_SET),
                ts_exchange=ev.ts_exchange,
                ts_receive=ev.ts_receive,
                instrument=ev.instrument,
                flags=_SNAPSHOT | (_LAST if i == len(settings) else 0),
                sequence=ev.sequence,
                side=side,
                price=price,
                qty=lots,
            )
            apply_l3(book, setting)
            yield setting
        previous = shown


def _settings(
    book: L3Book,
    ev: Event,
    previous: dict[int, dict[int, int]] | None,
    now: dict[int, dict[int, int]],
    levels: int,
) -> list[tuple[int, int, int]]:
    out = []
    touched = ev.kind in _BOOK_EVENTS
    for side in (BID, ASK):
        shown = now[side]
        if previous is None:  # the first row: nothing was in sight, so any level may hold more than we saw
            out += [(side, price, lots) for price, lots in shown.items() if _lots(book, side, price) != lots]
            in_sight: set[int] | dict[int, int] = {}
        else:
            in_sight = previous[side]
            out += [
                (side, price, lots)
                for price, lots in shown.items()
                if price not in in_sight and not (touched and ev.side == side and price == ev.price)
            ]
        boundary = _boundary(side, shown, levels)
        for price in book.prices(side):
            if boundary is not None and (price < boundary if side == BID else price > boundary):
                break
            if (
                price not in shown
                and price not in in_sight
                and not (touched and ev.side == side and price == ev.price)
            ):
                out.append((side, price, 0))
    return out


def _lots(book: L3Book, side: int, price: int) -> int:
    level = book.level(side, price)
    return level.qty if level else 0
