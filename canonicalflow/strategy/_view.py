"""The read-only view a strategy decides on: State through a `Reader`, its parameters, and the
tradable grid.

Nothing here changes State, and everything read is the Core's (books, queue places, our orders,
holdings), so a decision depends on the stream and the configuration only, and the digest covers
all of it.
"""

from __future__ import annotations

from typing import Any

from canonicalflow.portfolio import round_price
from canonicalflow.state import Core, Reader

__all__ = ["View"]


class View(Reader):
    """A `Reader` with the strategy's `params` and the grid risk trades on."""

    def __init__(
        self, core: Core, params: dict[str, Any] | None = None, increments: tuple[int, int] = (1, 1)
    ) -> None:
        super().__init__(core)
        self.price_increment, self.qty_increment = increments
        self.params = dict(params or {})

    def round_price(self, side: int, price: int) -> int:
        """`price` on the tradable grid (`risk.price_increment` ticks): a buy down, a sell up, as risk does."""
        return round_price(side, price, self.price_increment)

    def round_qty(self, lots: int) -> int:
        """`lots` down onto the tradable grid (`risk.qty_increment`); 0 when below one increment."""
        return lots - lots % self.qty_increment
