"""An order-level (L3, market-by-order) book: FIFO queues of orders per price level, in ticks and lots.

Each level keeps its orders in arrival order (a dict preserves insertion order and removes in
O(1)), so the queue ahead of any order is exact. A level may also hold *unattributed* lots: volume
a price-level snapshot showed that no known order accounts for (orders that rested before the
data began). A reduction naming an order the book never saw draws on them; that is how a book
seeded from a snapshot replays an order-level feed exactly.

Operations never raise on bad data: they change nothing and return a finding code, which the
caller records with its position (see `canonicalflow.book.replay`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sortedcontainers import SortedDict

__all__ = ["ASK", "BID", "L3Book", "Level"]

BID, ASK = 1, -1


class Level:
    """One price level: its orders in priority order, and the total lots resting there."""

    __slots__ = ("orders", "qty", "unattributed")

    def __init__(self) -> None:
        self.orders: dict[int, int] = {}  # order id -> lots, first in first out
        self.qty = 0  # every lot at this price, unattributed ones included
        self.unattributed = 0

    @property
    def count(self) -> int:
        """Orders at the level; unattributed lots count as one order when there are any."""
        return len(self.orders) + (1 if self.unattributed else 0)


class L3Book:
    """One instrument's book. Bids are keyed by negated price so both sides iterate best first."""

    def __init__(self) -> None:
        self._sides: dict[int, SortedDict] = {BID: SortedDict(), ASK: SortedDict()}
        self.orders: dict[int, tuple[int, int]] = {}  # order id -> (side, price)

    # ---------------------------------------------------------------- updates
    def add(self, order_id: int, side: int, price: int, qty: int) -> str | None:
        if order_id in self.orders:
            return "duplicate_order_id"
        if qty <= 0 or side not in self._sides:
            return "bad_size" if qty <= 0 else "bad_side"
        level = self._level_at(side, price)
        level.orders[order_id] = qty
        level.qty += qty
        self.orders[order_id] = (side, price)
        return None

    def reduce(self, order_id: int, qty: int, side: int = 0, price: int = 0) -> str | None:
        """Take `qty` lots off an order (a cancel, partial or full, or an execution).

        An order the book does not know is looked for at (`side`, `price`) among the level's
        unattributed lots.
        """
        if qty <= 0:
            return "bad_size"
        where = self.orders.get(order_id)
        if where is None:
            return self._reduce_unattributed(side, price, qty)
        side, price = where
        level = self._sides[side][side * -price]
        held = level.orders[order_id]
        if qty > held:
            return "overfill"
        if qty == held:
            del level.orders[order_id], self.orders[order_id]
        else:
            level.orders[order_id] = held - qty
        self._take(side, price, level, qty)
        return None

    def modify(self, order_id: int, side: int, price: int, qty: int) -> str | None:
        """Change an order's price or size. It keeps its place only if the price stays and the size does not grow."""
        where = self.orders.get(order_id)
        if where is None:
            return "unknown_order"
        if qty <= 0 or side not in self._sides:
            return "bad_size" if qty <= 0 else "bad_side"
        old_side, old_price = where
        level = self._sides[old_side][old_side * -old_price]
        held = level.orders[order_id]
        if (old_side, old_price) == (side, price) and qty <= held:
            level.orders[order_id] = qty
            self._take(side, price, level, held - qty)
            return None
        self.reduce(order_id, held)
        return self.add(order_id, side, price, qty)

    def set_level(self, side: int, price: int, qty: int) -> str | None:
        """A price-level snapshot says `qty` lots rest at `price`: the part no known order explains is unattributed."""
        if qty < 0 or side not in self._sides:
            return "bad_size" if qty < 0 else "bad_side"
        level = self._level_at(side, price) if qty > 0 else self.level(side, price)
        if level is None:
            return None
        attributed = level.qty - level.unattributed
        if qty < attributed:
            return "level_below_its_orders"
        level.unattributed = qty - attributed
        level.qty = qty
        if not level.qty:
            del self._sides[side][side * -price]
        return None

    def forget_level(self, side: int, price: int) -> None:
        """Drop a level and its orders: a feed that shows only the top levels lost sight of it."""
        level = self._sides[side].pop(side * -price, None) if side in self._sides else None
        for order_id in level.orders if level else ():
            del self.orders[order_id]

    def clear(self) -> None:
        for levels in self._sides.values():
            levels.clear()
        self.orders.clear()

    def to_data(self) -> list[list[Any]]:
        """[side, price, unattributed lots, [[order id, lots], ...] in queue order] per level, each
        side best first: what a snapshot holds."""
        return [
            [side, side * -key, level.unattributed, [[oid, lots] for oid, lots in level.orders.items()]]
            for side in (BID, ASK)
            for key, level in self._sides[side].items()
        ]

    @classmethod
    def from_data(cls, data: list[list[Any]]) -> L3Book:
        """The book `to_data` gave, every queue in its order."""
        book = cls()
        for side, price, unattributed, orders in data:
            level = book._sides[side][side * -price] = Level()
            level.unattributed = level.qty = unattributed
            for oid, lots in orders:
                level.orders[oid] = lots
                level.qty += lots
                book.orders[oid] = (side, price)
        return book

    # ------------------------------------------------------------ projections
    def best(self, side: int) -> tuple[int, int, int] | None:
        """(price, lots, orders) at the best level of `side`, or None when the side is empty."""
        levels = self._sides[side]
        if not levels:
            return None
        key, level = levels.peekitem(0)
        return side * -key, level.qty, level.count

    def top(self, side: int, n: int) -> list[tuple[int, int, int]]:
        """The best `n` levels of `side`, best first, as (price, lots, orders)."""
        levels = self._sides[side]
        return [(side * -key, levels[key].qty, levels[key].count) for key in levels.islice(0, n)]

    def prices(self, side: int) -> Iterator[int]:
        """The prices of `side`, best first, lazily: stop early without walking the whole side."""
        return (side * -key for key in self._sides[side])

    def levels(self, side: int) -> Iterator[tuple[int, int]]:
        """(price, lots) on `side`, best first, lazily: a taker stops at the first levels it needs."""
        return ((side * -key, level.qty) for key, level in self._sides[side].items())

    def depth(self, side: int) -> int:
        """Number of price levels on `side`."""
        return len(self._sides[side])

    def level(self, side: int, price: int) -> Level | None:
        return self._sides[side].get(side * -price)

    def lots(self, order_id: int) -> int:
        """Lots `order_id` still rests with; 0 for an order the book does not hold."""
        where = self.orders.get(order_id)
        return self._sides[where[0]][where[0] * -where[1]].orders[order_id] if where else 0

    def queue_ahead(self, order_id: int) -> int:
        """Lots ahead of `order_id` in its level's queue (unattributed lots rest ahead of every known order)."""
        side, price = self.orders[order_id]
        level = self._sides[side][side * -price]
        ahead = level.unattributed
        for other, lots in level.orders.items():
            if other == order_id:
                return ahead
            ahead += lots
        raise AssertionError("an indexed order is always in its level")

    def crossed(self) -> bool:
        bid, ask = self.best(BID), self.best(ASK)
        return bid is not None and ask is not None and bid[0] >= ask[0]

    # --------------------------------------------------------------- helpers
    def _level_at(self, side: int, price: int) -> Level:
        """The level at (side, price), made empty if there is none."""
        levels = self._sides[side]
        key = side * -price
        level: Level | None = levels.get(key)
        if level is None:
            level = levels[key] = Level()
        return level

    def _take(self, side: int, price: int, level: Level, qty: int) -> None:
        level.qty -= qty
        if not level.qty:
            del self._sides[side][side * -price]

    def _reduce_unattributed(self, side: int, price: int, qty: int) -> str | None:
        level = self._sides[side].get(side * -price) if side in self._sides else None
        if level is None or level.unattributed < qty:
            return "unknown_order"
        level.unattributed -= qty
        self._take(side, price, level, qty)
        return None
