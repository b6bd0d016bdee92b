"""The market domain: each instrument's book with our resting orders' queue places on it, and its
top of book and last trade.

The book is `canonicalflow.queue.QueuedBook`, the very book the simulated venue keeps, driven by
the same rules (`CoreConfig.market`) on the stream as we receive it: so the book a strategy reads,
the queue places it sees and the book the digest covers are one. Every market event is applied
to it through `canonicalflow.book`'s rules; what the book refuses is recorded, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from canonicalflow.book import L3Book
from canonicalflow.config import CoreConfig
from canonicalflow.events import Event, EventKind
from canonicalflow.queue import Place, QueuedBook

__all__ = ["MarketState", "Quote"]

Change = tuple[Any, ...]
_K = EventKind
_ORDER_KINDS = (_K.ORDER_ADD, _K.ORDER_MODIFY, _K.ORDER_CANCEL, _K.ORDER_FILL)
_MOVES_ORDER = frozenset((int(_K.ORDER_ADD), int(_K.ORDER_MODIFY)))


class Quote(NamedTuple):
    """An instrument's top of book and last trade, in ticks and lots."""

    bid_price: int = 0
    bid_qty: int = 0
    ask_price: int = 0
    ask_qty: int = 0
    last_price: int = 0
    last_qty: int = 0


def _no_change(ev: Event, changes: list[Change]) -> None:
    """Snapshot bounds and the venue's trading status change nothing here; their position still
    enters the digest."""


class MarketState:
    """`books`: instrument -> `QueuedBook`; `quotes`: instrument -> `Quote`.

    `leaves(coid)` tells what one of our resting orders still has open (the execution domain
    knows), for the rules that move places.
    """

    def __init__(self, config: CoreConfig, leaves: Callable[[int], int]) -> None:
        rules = config.market
        self._whole = rules.fills == "whole"
        l3, model = rules.book == "l3", rules.build_queue_model()
        self.books: dict[int, QueuedBook] = {i.id: QueuedBook(l3, model) for i in config.instruments}
        self.quotes: dict[int, Quote] = {}
        self._leaves = leaves

    def handlers(self) -> dict[int, Callable[[Event, list[Change]], None]]:
        """The Core's handler for each market kind."""
        table: dict[int, Callable[[Event, list[Change]], None]] = {
            int(_K.BBO): self._bbo,
            int(_K.TRADE): self._trade,
            int(_K.LEVEL_SET): self._level_set,
            int(_K.BOOK_CLEAR): self._book_clear,
            int(_K.SNAPSHOT_BEGIN): _no_change,
            int(_K.SNAPSHOT_END): _no_change,
            int(_K.TRADING_STATUS): _no_change,
        }
        table.update({int(kind): self._order_event for kind in _ORDER_KINDS})
        return table

    def quiet(self) -> bool:
        """None of our orders rests on any book: market data moves only books and quotes."""
        return all(book.quiet for book in self.books.values())

    # ------------------------------------------------------------- our orders
    def place(self, instrument: int, coid: int) -> Place | None:
        book = self.books.get(instrument)
        return book.queues.places.get(coid) if book is not None else None

    def rest(self, instrument: int, coid: int, side: int, price: int, changes: list[Change]) -> None:
        """Our order rests at the back of (side, price): behind everything shown there now."""
        book = self.books[instrument]
        book.queues.changes = changes
        try:
            book.join(coid, side, price)
        finally:
            book.queues.changes = None

    def moved(
        self, instrument: int, coid: int, side: int, price: int, lost_priority: bool, changes: list[Change]
    ) -> None:
        """A replace moved our resting order: to a new price (the back of that queue), or to a larger
        size at the same price (`lost_priority`: the back of its queue); else it keeps its place."""
        book = self.books[instrument]
        place = book.queues.places.get(coid)
        if place is None:
            return
        book.queues.changes = changes
        try:
            if place.price != price:
                book.queues.leave(coid)
                book.join(coid, side, price)
            elif lost_priority:
                book.requeue(coid, side, price)
        finally:
            book.queues.changes = None

    def left(self, instrument: int, coid: int, changes: list[Change]) -> None:
        """Our order no longer rests (filled, canceled, expired, rejected)."""
        book = self.books[instrument]
        if coid in book.queues.places:
            book.queues.changes = changes
            try:
                book.queues.leave(coid)
            finally:
                book.queues.changes = None

    # ---------------------------------------------------------------- handlers
    def _bbo(self, ev: Event, changes: list[Change]) -> None:
        quote = self.quotes.get(ev.instrument, Quote())._replace(
            bid_price=ev.bid_price, bid_qty=ev.bid_qty, ask_price=ev.ask_price, ask_qty=ev.ask_qty
        )
        self.quotes[ev.instrument] = quote
        changes.append(("quote", ev.instrument, *quote))

    def _trade(self, ev: Event, changes: list[Change]) -> None:
        quote = self.quotes.get(ev.instrument, Quote())._replace(last_price=ev.price, last_qty=ev.qty)
        self.quotes[ev.instrument] = quote
        changes.append(("quote", ev.instrument, *quote))
        book = self.books.get(ev.instrument)
        if book is not None and book.queues.places:  # a trade moves nothing else but our places
            self._apply(book, ev, changes)

    def _level_set(self, ev: Event, changes: list[Change]) -> None:
        book = self._book(ev, changes)
        if book is not None and self._apply(book, ev, changes, (ev.instrument, ev.side, ev.price)):
            changes.insert(0, ("level", ev.instrument, ev.side, ev.price, book.qty_at(ev.side, ev.price)))

    def _book_clear(self, ev: Event, changes: list[Change]) -> None:
        book = self._book(ev, changes)
        if book is not None and self._apply(book, ev, changes):
            changes.insert(0, ("book_clear", ev.instrument))

    def _order_event(self, ev: Event, changes: list[Change]) -> None:
        """An order of the venue's book added, modified, canceled or executed: the order's lots
        after it, and every level it touched."""
        book = self._book(ev, changes)
        if book is None:
            return
        levels = book.book
        where = levels.orders.get(ev.order_id) if isinstance(levels, L3Book) else None
        if not self._apply(book, ev, changes, ev.order_id):
            return
        assert isinstance(levels, L3Book)  # a price-level book refuses every order event
        # the order's level before, and the one the event names when it moves or adds the order
        # or reduces lots no known order holds (a cancel of a known order may name no side)
        spots = [where] if where else []
        if where is None or ev.kind in _MOVES_ORDER:
            spots.append((ev.side, ev.price))
        touched = dict.fromkeys(spots)
        head: list[Change] = [("book_order", ev.instrument, ev.order_id, levels.lots(ev.order_id))]
        head += [("level", ev.instrument, side, price, book.qty_at(side, price)) for side, price in touched]
        changes[0:0] = head

    def _book(self, ev: Event, changes: list[Change]) -> QueuedBook | None:
        book = self.books.get(ev.instrument)
        if book is None:
            changes.append(("rejected", "book", ev.instrument, "unknown_instrument"))
        return book

    def _apply(self, book: QueuedBook, ev: Event, changes: list[Change], about: object = None) -> bool:
        """Apply `ev` to `book`, its place changes into `changes`; False, recorded, if refused."""
        queues = book.queues
        queues.changes = changes if queues.places else None
        try:
            finding, _ = book.apply(ev, self._leaves, self._whole)  # the venue decides what filled
        finally:
            queues.changes = None
        if finding is not None:
            changes.append(("rejected", "book", ev.instrument if about is None else about, finding))
            return False
        return True

    # --------------------------------------------------------------- snapshots
    def to_data(self) -> dict[str, Any]:
        return {
            "books": [[instrument, book.to_data()] for instrument, book in sorted(self.books.items())],
            "quotes": sorted([instrument, *quote] for instrument, quote in self.quotes.items()),
        }

    def restore(self, data: dict[str, Any]) -> None:
        for instrument, book in data["books"]:
            self.books[instrument].restore(book)
        self.quotes = {instrument: Quote(*fields) for instrument, *fields in data["quotes"]}
