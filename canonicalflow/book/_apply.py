"""Canonical market events applied to a book, with every problem kept as a finding, never a crash."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from canonicalflow.book._l2 import L2Book
from canonicalflow.book._l3 import ASK, BID, L3Book
from canonicalflow.events import Event, EventKind, Flag

__all__ = ["BookFinding", "apply_l2", "apply_l3", "replay_books"]

_LAST_IN_PACKET = int(Flag.LAST_IN_PACKET)
_SNAPSHOT = int(Flag.SNAPSHOT)


class BookFinding(NamedTuple):
    """A data-quality finding: at `position`, `code` (e.g. unknown_order, crossed_book)."""

    position: int
    instrument: int
    code: str
    order_id: int = 0


def apply_l3(book: L3Book, ev: Event) -> str | None:
    """Apply one market event to an order-level book; a finding code when it does not apply."""
    kind = ev.kind
    if kind == EventKind.ORDER_ADD:
        return book.add(ev.order_id, ev.side, ev.price, ev.qty)
    if kind == EventKind.ORDER_CANCEL or kind == EventKind.ORDER_FILL:
        return book.reduce(ev.order_id, ev.qty, ev.side, ev.price)
    if kind == EventKind.ORDER_MODIFY:
        return book.modify(ev.order_id, ev.side, ev.price, ev.qty)
    if kind == EventKind.LEVEL_SET:
        if ev.side not in (BID, ASK) or ev.qty < 0:
            return "bad_side" if ev.side not in (BID, ASK) else "bad_size"
        if ev.flags & _SNAPSHOT:  # authoritative: whatever orders were known there are superseded
            book.forget_level(ev.side, ev.price)
        return book.set_level(ev.side, ev.price, ev.qty)
    if kind == EventKind.BOOK_CLEAR:
        book.clear()
    return None


def apply_l2(book: L2Book, ev: Event) -> str | None:
    """Apply one market event to a price-level book; order-level events are not for it."""
    if ev.kind == EventKind.LEVEL_SET:
        return book.set_level(ev.side, ev.price, ev.qty)
    if ev.kind == EventKind.BOOK_CLEAR:
        book.clear()
    elif ev.kind in (
        EventKind.ORDER_ADD,
        EventKind.ORDER_MODIFY,
        EventKind.ORDER_CANCEL,
        EventKind.ORDER_FILL,
    ):
        return "order_event_on_level_book"
    return None


def replay_books(
    events: Iterable[Event], level: int = 3, findings: list[BookFinding] | None = None
) -> Iterator[tuple[Event, L3Book | L2Book]]:
    """Apply `events` to one book per instrument, yielding each event with its instrument's book.

    Findings go to `findings`: whatever an event could not do, and a crossed book after an event
    that completes an update (flagged LAST_IN_PACKET).
    """
    books: dict[int, L3Book | L2Book] = {}
    apply = apply_l3 if level == 3 else apply_l2
    sink = findings if findings is not None else []
    for ev in events:
        book = books.get(ev.instrument)
        if book is None:
            book = books[ev.instrument] = L3Book() if level == 3 else L2Book()
        code = apply(book, ev)  # type: ignore[arg-type]
        if code:
            sink.append(BookFinding(ev.position, ev.instrument, code, ev.order_id))
        if ev.flags & _LAST_IN_PACKET and book.crossed():
            sink.append(BookFinding(ev.position, ev.instrument, "crossed_book"))
        yield ev, book
