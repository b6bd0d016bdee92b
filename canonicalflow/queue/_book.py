"""One instrument's book with the queue places of our resting orders on it.

Shared by the simulated venue (where the fills it finds are executed) and by the Core (where the
book is the one a strategy reads and the places the estimate it sees), so both move places by the
same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from canonicalflow.book import ASK, BID, L2Book, L3Book, apply_l2, apply_l3, last_of_each
from canonicalflow.events import Event, EventKind, Flag
from canonicalflow.queue._models import UNITS_PER_LOT, QueueModel
from canonicalflow.queue._places import RestingQueues

__all__ = ["Fills", "QueuedBook"]

_K = EventKind
_SNAPSHOT, _LAST = int(Flag.SNAPSHOT), int(Flag.LAST_IN_PACKET)
_L3_KINDS = frozenset((_K.ORDER_ADD, _K.ORDER_CANCEL, _K.ORDER_FILL, _K.ORDER_MODIFY))

Fills = list[tuple[int, int]]  # (key, lots) a market event made due


class QueuedBook:
    """The book, our places on it, and the liquidity our takers consumed until the feed refreshes
    it (at the venue; nothing takes from the Core's book, so there it stays empty)."""

    def __init__(self, l3: bool, model: QueueModel) -> None:
        self.l3 = l3
        self.book: L2Book | L3Book = L3Book() if l3 else L2Book()
        self._apply_book: Callable[[Any, Event], str | None] = apply_l3 if l3 else apply_l2
        self.queues = RestingQueues(model)
        self.consumed: dict[tuple[int, int], int] = {}  # (side, price) -> lots our takers took
        self._snapshot_from: tuple[int | None, int | None] | None = None  # best prices before a rebuild

    # ------------------------------------------------------------ projections
    def qty_at(self, side: int, price: int) -> int:
        book = self.book
        if isinstance(book, L2Book):
            return book.qty_at(side, price)
        level = book.level(side, price)
        return level.qty if level else 0

    def best_price(self, side: int) -> int | None:
        best = self.book.best(side)
        return best[0] if best else None

    def available(self, side: int) -> Iterator[tuple[int, int]]:
        """(price, lots shown and not yet taken by us) on `side`, best first, lazily."""
        consumed = self.consumed
        return ((price, qty - consumed.get((side, price), 0)) for price, qty in self.book.levels(side))

    # ------------------------------------------------------------- our orders
    def join(self, key: int, side: int, price: int) -> None:
        """`key` rests at the back of its level: behind everything shown there now."""
        self.queues.join(key, side, price, self.qty_at(side, price), self._front(side, price))

    def requeue(self, key: int, side: int, price: int) -> None:
        """`key` lost its priority at its price (a larger size): the back of the level, as `join`."""
        self.queues.requeue(key, self.qty_at(side, price), self._front(side, price))

    def _front(self, side: int, price: int) -> dict[int, int] | None:
        """On order-level data, the feed's orders now at (side, price), each ahead of a new place."""
        if isinstance(self.book, L3Book) and (level := self.book.level(side, price)):
            return dict(level.orders)
        return None

    def take(self, side: int, price: int, lots: int) -> None:
        """Our taker took `lots` shown at (side, price): not available again until the feed changes it."""
        self.consumed[(side, price)] = self.consumed.get((side, price), 0) + lots

    # ------------------------------------------------------------ market data
    def apply(self, ev: Event, leaves: Callable[[int], int], whole: bool) -> tuple[str | None, Fills]:
        """Apply one market event: (the book's finding when it does not apply, else None; the
        fills of our resting orders it makes due).

        `leaves(key)` is what a resting order still has open; `whole` fills it all whenever it
        fills (hftbacktest's NoPartialFillExchange) instead of by the trade's excess. A refused
        event changes nothing, here or in our places.

        Twin: `QueuedBook.set_levels` (level sets at once, while nothing of ours rests on an L2 book).
        """
        kind = ev.kind
        if kind == _K.TRADE:
            return None, [] if self.l3 else self._trade(ev, leaves, whole)
        # the best prices before the event matter only to a resting order or a book being rebuilt
        watching = self.queues.places or kind == _K.BOOK_CLEAR or ev.flags & _SNAPSHOT
        before = (self.best_price(BID), self.best_price(ASK)) if watching else None
        fills: Fills = []
        if kind == _K.LEVEL_SET:
            finding = self._level_set(ev)
        elif kind == _K.BOOK_CLEAR:
            self.book.clear()
            self.consumed.clear()
            finding = None
        elif kind in _L3_KINDS:
            if not self.l3:
                return "order_event_on_level_book", fills
            finding, fills = self._l3_event(ev, leaves, whole)
        else:
            return None, fills  # BBO, markers, status, gaps: the depth replayed is the book
        if finding is not None:
            return finding, fills
        if kind == _K.BOOK_CLEAR or (ev.flags & _SNAPSHOT and not ev.flags & _LAST):
            if self._snapshot_from is None:  # a book being rebuilt is compared with the one it replaces
                self._snapshot_from = before
            return None, fills
        if self._snapshot_from is not None:
            before, self._snapshot_from = self._snapshot_from, None
        return None, fills if before is None else fills + self._crossed(before, leaves)

    def set_levels(self, side: np.ndarray, price: np.ndarray, qty: np.ndarray, flags: np.ndarray) -> None:
        """Level sets in stream order, folded at once: each level ends at the size its last row set.

        The same as applying them one by one while none of our orders rests on this L2 book: a level
        set then moves nothing but the level, and the snapshot mark (the best prices a book being
        rebuilt is compared with once it is whole) ends as the rows would leave it.

        Twin: `QueuedBook.apply`.
        """
        assert not self.l3 and self.quiet
        opening = (flags & _SNAPSHOT != 0) & (flags & _LAST == 0)  # a snapshot row, more to come
        closing = np.flatnonzero(~opening)
        rest = 0
        if len(closing):  # any other row ends a snapshot being rebuilt
            rest = int(closing[-1]) + 1
            self._fold(side[:rest], price[:rest], qty[:rest])
            self._snapshot_from = None
        if rest < len(side):  # a snapshot still open after the last of them
            if self._snapshot_from is None:
                self._snapshot_from = (self.best_price(BID), self.best_price(ASK))
            self._fold(side[rest:], price[rest:], qty[rest:])

    def _fold(self, side: np.ndarray, price: np.ndarray, qty: np.ndarray) -> None:
        """Each level to the size its last row sets: `L2Book.set_level`, the per-event rule, once
        per level (the rows between set sizes that a later row overwrites)."""
        book, consumed = self.book, self.consumed
        last = last_of_each(side, price)
        for level_side, level_price, lots in zip(
            side[last].tolist(), price[last].tolist(), qty[last].tolist(), strict=True
        ):
            book.set_level(level_side, level_price, lots)
            if consumed:
                consumed.pop((level_side, level_price), None)

    # -------------------------------------------------------------- snapshots
    def to_data(self) -> dict[str, Any]:
        """The book, our places, what our takers consumed and a rebuild's mark, as plain lists."""
        return {
            "book": self.book.to_data(),
            "places": self.queues.to_data(),
            "consumed": sorted([*key, lots] for key, lots in self.consumed.items()),
            "snapshot_from": None if self._snapshot_from is None else list(self._snapshot_from),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Continue from what `to_data` gave."""
        self.book = (L3Book if self.l3 else L2Book).from_data(data["book"])
        self.queues.restore(data["places"])
        self.consumed = {(side, price): lots for side, price, lots in data["consumed"]}
        mark = data["snapshot_from"]
        self._snapshot_from = None if mark is None else (mark[0], mark[1])

    @property
    def quiet(self) -> bool:
        """Nothing of ours rests here: market data moves only the levels."""
        return not self.queues.places

    def _trade(self, ev: Event, leaves: Callable[[int], int], whole: bool) -> Fills:
        """A trade reaches the resting orders on the side its aggressor took from (both if unknown)."""
        fills: Fills = []
        queues = self.queues
        for resting in (-ev.side,) if ev.side else (BID, ASK):
            for price in queues.prices(resting):
                better = price > ev.price if resting == BID else price < ev.price
                if price != ev.price and not better:
                    continue
                taken = 0  # what our earlier orders at this price took from the trade
                for key in queues.at(resting, price):
                    if better:  # the trade went through our level: every order there filled
                        fills.append((key, leaves(key)))
                        continue
                    reaching = ev.qty if whole else ev.qty - taken
                    if reaching <= 0:
                        break  # our earlier orders here took the whole trade
                    due = _round_lots(queues.traded(key, reaching))
                    if due >= 1:
                        lots = leaves(key) if whole else min(leaves(key), due)
                        taken += lots
                        fills.append((key, lots))
        return fills

    def _level_set(self, ev: Event) -> str | None:
        finding = self._apply_book(self.book, ev)
        if finding is not None:
            return finding
        if self.consumed:
            self.consumed.pop((ev.side, ev.price), None)
        if self.queues.at(ev.side, ev.price):
            self.queues.level_changed(ev.side, ev.price, self.qty_at(ev.side, ev.price))
        return None

    def _l3_event(self, ev: Event, leaves: Callable[[int], int], whole: bool) -> tuple[str | None, Fills]:
        """An order-level change: our places move exactly by the feed orders that were ahead."""
        book, queues, kind = self.book, self.queues, ev.kind
        assert isinstance(book, L3Book)
        where = book.orders.get(ev.order_id)
        level = book.level(*where) if where else None
        held = level.orders[ev.order_id] if level else 0
        kept = kind == _K.ORDER_MODIFY and where == (ev.side, ev.price) and ev.qty <= held
        prev = self.qty_at(ev.side, ev.price) if ev.side in (BID, ASK) else 0  # a cancel may name no side
        refused = apply_l3(book, ev)
        if refused:
            return refused, []  # the book did not change: neither do we
        consumed = self.consumed
        if consumed:
            consumed.pop((ev.side, ev.price), None)
        if where is None:  # a new order joins at the back, or lots a snapshot left unattributed go
            lost = 0 if kind == _K.ORDER_ADD else min(ev.qty, prev)
            queues.feed_order_reduced(ev.side, ev.price, ev.order_id, lost, self.qty_at(ev.side, ev.price))
            return None, []
        side, price = where
        if consumed:
            consumed.pop(where, None)
        fills = (
            self._executed(side, price, ev.order_id, ev.qty, leaves, whole) if kind == _K.ORDER_FILL else []
        )
        # a modify that keeps priority gives up the lots it sheds; one that loses it leaves every front
        reduced = min(ev.qty, held) if kind != _K.ORDER_MODIFY else held - ev.qty if kept else held
        queues.feed_order_reduced(side, price, ev.order_id, reduced, self.qty_at(side, price))
        if kind == _K.ORDER_MODIFY and not kept:
            queues.feed_order_reduced(ev.side, ev.price, ev.order_id, 0, self.qty_at(ev.side, ev.price))
        return None, fills

    def _executed(
        self, side: int, price: int, order_id: int, lots: int, leaves: Callable[[int], int], whole: bool
    ) -> Fills:
        """L3: a feed order at (side, price) executed `lots`; which of our resting orders went first.

        Ours at a better price on that side were passed through: they fill whole. Ours at that
        price, ahead of the executed order, were executed first, in the order they joined, out of
        the same `lots` (each sees all of them in whole-fill mode).
        """
        queues = self.queues
        fills: Fills = []
        for own_price in queues.prices(side):
            if own_price == price:
                break
            if (own_price > price) == (side == BID):
                fills.extend((key, leaves(key)) for key in queues.at(side, own_price))
        taken = 0
        for key in queues.at(side, price):
            if order_id in queues.places[key].front:
                continue  # the executed order was ahead of this one
            queues.passed(key, self.qty_at(side, price))
            reaching = lots if whole else lots - taken
            if reaching <= 0:
                break
            filled = leaves(key) if whole else min(leaves(key), reaching)
            taken += filled
            fills.append((key, filled))
        return fills

    def _crossed(self, before: tuple[int | None, int | None], leaves: Callable[[int], int]) -> Fills:
        """The opposite best moved onto or through our price: those resting orders fill whole.

        Only a move towards us counts (a bid rising, an ask falling; a side rebuilt from empty
        counts as a move): a level moving away or vanishing fills nothing.
        """
        bid, ask = self.best_price(BID), self.best_price(ASK)
        if (bid, ask) == before:
            return []
        fills: Fills = []
        bid_rose = bid is not None and (before[0] is None or bid > before[0])
        ask_fell = ask is not None and (before[1] is None or ask < before[1])
        for side, best, moved in ((BID, ask, ask_fell), (ASK, bid, bid_rose)):
            if not moved or best is None:
                continue
            for price in self.queues.prices(side):
                if not (price >= best if side == BID else price <= best):
                    break  # prices come best first: the rest are further from the opposite side
                fills.extend((key, leaves(key)) for key in self.queues.at(side, price))
        return fills


def _round_lots(units: int) -> int:
    """Whole lots in `units`, half a lot rounding up: what the venue fills from a trade's excess.

    hftbacktest fills once the quantity ahead reaches -0.5 lot (round half away from zero); with
    whole-lot models the excess is whole lots anyway, so only the fractional models see the half.
    """
    return (units + UNITS_PER_LOT // 2) // UNITS_PER_LOT
