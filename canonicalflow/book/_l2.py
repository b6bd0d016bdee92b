"""A price-level (L2, market-by-price) book: lots per price per side, in ticks and lots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sortedcontainers import SortedDict

from canonicalflow.book._l3 import ASK, BID

__all__ = ["L2Book"]


class L2Book:
    """One instrument's levels. Bids are keyed by negated price so both sides iterate best first."""

    def __init__(self) -> None:
        self._sides: dict[int, SortedDict] = {BID: SortedDict(), ASK: SortedDict()}
        # side -> (key, lots) of its best level, None when empty; absent until asked again
        self._best: dict[int, tuple[int, int] | None] = {}

    def set_level(self, side: int, price: int, qty: int) -> str | None:
        """`qty` lots now rest at `price`; 0 removes the level."""
        levels = self._sides.get(side)
        if levels is None or qty < 0:
            return "bad_side" if levels is None else "bad_size"
        key = side * -price
        if qty:
            levels[key] = qty
        else:
            levels.pop(key, None)
        if side in self._best:
            best = self._best[side]
            if best is None or key <= best[0]:  # at or better than the best: the best moves
                self._best[side] = (key, qty) if qty else self._peek(side)
        return None

    def clear(self) -> None:
        for levels in self._sides.values():
            levels.clear()
        self._best.clear()

    def to_data(self) -> list[list[Any]]:
        """[side, price, lots] per level, each side best first: what a snapshot holds."""
        return [[side, price, qty] for side in (BID, ASK) for price, qty in self.levels(side)]

    @classmethod
    def from_data(cls, data: list[list[Any]]) -> L2Book:
        """The book `to_data` gave."""
        book = cls()
        for side, price, qty in data:
            book._sides[side][side * -price] = qty
        return book

    def best(self, side: int) -> tuple[int, int, int] | None:
        """(price, lots, 0) at the best level of `side`; an L2 feed does not count orders."""
        if side in self._best:
            best = self._best[side]
        else:
            best = self._best[side] = self._peek(side)
        return None if best is None else (side * -best[0], best[1], 0)

    def _peek(self, side: int) -> tuple[int, int] | None:
        levels = self._sides[side]
        return levels.peekitem(0) if levels else None

    def top(self, side: int, n: int) -> list[tuple[int, int, int]]:
        levels = self._sides[side]
        return [(side * -key, levels[key], 0) for key in levels.islice(0, n)]

    def levels(self, side: int) -> Iterator[tuple[int, int]]:
        """(price, lots) on `side`, best first, lazily: a taker stops at the first levels it needs."""
        return ((side * -key, qty) for key, qty in self._sides[side].items())

    def depth(self, side: int) -> int:
        return len(self._sides[side])

    def qty_at(self, side: int, price: int) -> int:
        return self._sides[side].get(side * -price, 0)

    def crossed(self) -> bool:
        bid, ask = self.best(BID), self.best(ASK)
        return bid is not None and ask is not None and bid[0] >= ask[0]
