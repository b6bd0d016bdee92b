"""What a strategy can know of its resting orders' queue places, from what it has received.

The venue's own places decide fills but live on the venue's clock, which a strategy cannot see.
The tracker runs the same rules (`QueuedBook`, the same queue model and kernel) on the stream as
we receive it: market data at receive time, our orders from their acknowledgements. It is a
projection of the recorded stream, so it is the same in Backtest and Live, and replays exactly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from canonicalflow.config import CoreConfig
from canonicalflow.events import Event, EventKind
from canonicalflow.venue._config import VenueConfig
from canonicalflow.venue._market import QueuedBook
from canonicalflow.venue._queue_models import ConservativeQueue

__all__ = ["QueuePosition", "QueueTracker"]

_K = EventKind
_GONE = frozenset((_K.CANCEL_ACK, _K.EXPIRED, _K.VENUE_CANCEL, _K.DONE_FOR_DAY, _K.REJECT))


class QueuePosition(NamedTuple):
    """A resting order's estimated place: lots ahead of it, and lots shown at its price."""

    ahead: float
    level: float


class _Working(NamedTuple):
    instrument: int
    side: int
    price: int
    qty: int
    cum: int


class QueueTracker:
    """Feed it every recorded event in order; ask it for the place of any working order."""

    def __init__(self, core_config: CoreConfig, venue_config: VenueConfig) -> None:
        l3 = venue_config.book == "l3"
        model = ConservativeQueue() if l3 else venue_config.build_queue_model()
        self._whole = venue_config.fills == "whole"
        self._books = {i.id: QueuedBook(l3, model) for i in core_config.instruments}
        self._sides: dict[int, int] = {}  # client order id -> side, from its NEW until its answer
        self._working: dict[int, _Working] = {}

    def position(self, coid: int) -> QueuePosition | None:
        """The order's place, or None when it is not resting (not yet acknowledged, or done)."""
        order = self._working.get(coid)
        place = self._books[order.instrument].queues.places.get(coid) if order else None
        return QueuePosition(place.ahead_lots, place.level_lots) if place else None

    def book(self, instrument: int) -> QueuedBook:
        """The instrument's book as we have received it: what a strategy may look at."""
        return self._books[instrument]

    def quiet(self) -> bool:
        """None of our orders rests, in any book: market data moves only the levels."""
        return not self._working and all(book.quiet for book in self._books.values())

    def fold_levels(
        self, instrument: int, side: np.ndarray, price: np.ndarray, qty: np.ndarray, flags: np.ndarray
    ) -> None:
        """An instrument's level sets in stream order, folded at once while `quiet()`."""
        book = self._books.get(instrument)
        if book is not None:
            book.set_levels(side, price, qty, flags)

    def apply(self, ev: Event) -> None:
        kind = ev.kind
        book = self._books.get(ev.instrument)
        if book is None:
            return
        if kind < 20:
            book.apply(ev, self._leaves, self._whole)  # the venue, not us, decides what filled
        elif kind == _K.DISPATCH and ev.command == 1:
            self._sides[ev.client_order_id] = ev.side
        elif kind == _K.ACK and ev.client_order_id in self._sides:
            coid = ev.client_order_id
            order = _Working(ev.instrument, self._sides.pop(coid), ev.price, ev.qty, 0)
            self._working[coid] = order
            book.join(coid, order.side, order.price)
        elif kind == _K.FILL and ev.client_order_id in self._working:
            order = self._working[ev.client_order_id]
            self._update(book, ev.client_order_id, order._replace(cum=order.cum + ev.qty))
        elif kind == _K.REPLACE_ACK and ev.client_order_id in self._working:
            self._replaced(book, ev)
        elif kind in _GONE and ev.client_order_id in self._working:
            self._update(book, ev.client_order_id, None)
        elif kind == _K.REJECT:
            self._sides.pop(ev.client_order_id, None)  # refused on arrival: it never rested

    def _replaced(self, book: QueuedBook, ev: Event) -> None:
        coid = ev.client_order_id
        was = self._working[coid]
        now = was._replace(price=ev.price, qty=ev.qty)
        if now.qty <= now.cum:
            self._update(book, coid, None)
        elif now.price != was.price:
            book.queues.leave(coid)
            book.join(coid, now.side, now.price)
            self._working[coid] = now
        elif now.qty > was.qty:  # a larger size loses priority
            book.queues.requeue(coid, book.qty_at(now.side, now.price))
            self._working[coid] = now
        else:
            self._working[coid] = now

    def _update(self, book: QueuedBook, coid: int, order: _Working | None) -> None:
        if order is not None and order.cum < order.qty:
            self._working[coid] = order
            return
        del self._working[coid]
        if coid in book.queues.places:
            book.queues.leave(coid)

    def _leaves(self, coid: int) -> int:
        order = self._working[coid]
        return order.qty - order.cum
