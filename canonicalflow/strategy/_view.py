"""The read-only view a strategy decides on: books, own orders, positions and PnL, at one position.

Nothing here changes State; every number is read from the Core or from projections of the same
recorded stream (the books and queue places as received, our orders), so a decision depends on
the stream and the configuration only.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from canonicalflow.book._l3 import ASK, BID
from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.state import Core, Position
from canonicalflow.strategy._money import Money
from canonicalflow.strategy._orders import OwnOrder, OwnOrders
from canonicalflow.venue import QueuedBook, QueueTracker

__all__ = ["BookView", "View", "round_price"]

_FLAT = Position()


def _current() -> None:
    """State is already at the position being decided on: nothing to catch up."""


def round_price(side: int, price: int, step: int) -> int:
    """`price` onto a grid of `step` ticks, away from the market: a buy down, a sell up."""
    return price - price % step if side == 1 else -((-price) // step * step)


class BookView:
    """One instrument's book as received: prices in ticks, sizes in lots.

    A feed of top-of-book quotes only (BBO events) builds no depth; the best prices and sizes then
    come from the Core's quote, so the touch is known either way.
    """

    def __init__(self, book: QueuedBook, core: Core, instrument: int, view: View) -> None:
        self._queued, self._book = book, book.book
        self._quotes, self._instrument = core.quotes, instrument
        self._view = view

    def _best(self, side: int) -> tuple[int, int] | None:
        self._view.catch_up()
        best = self._book.best(side)
        if best is not None:
            return best[0], best[1]
        quote = self._quotes.get(self._instrument)
        if quote is None:
            return None
        price, qty = (quote.bid_price, quote.bid_qty) if side == BID else (quote.ask_price, quote.ask_qty)
        return (price, qty) if qty > 0 else None

    def best_bid(self) -> int | None:
        best = self._best(BID)
        return best[0] if best else None

    def best_ask(self) -> int | None:
        best = self._best(ASK)
        return best[0] if best else None

    def bid_qty(self) -> int:
        best = self._best(BID)
        return best[1] if best else 0

    def ask_qty(self) -> int:
        best = self._best(ASK)
        return best[1] if best else 0

    def mid(self) -> Fraction | None:
        """Halfway between the best prices, in ticks; None unless both sides show."""
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else Fraction(bid + ask, 2)

    def spread(self) -> int | None:
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else ask - bid

    def levels(self, side: int, n: int) -> list[tuple[int, int]]:
        """The best `n` (price, lots) of `side` (1 bids, -1 asks)."""
        self._view.catch_up()
        return [(price, qty) for price, qty, _ in self._book.top(side, n)]

    def qty_at(self, side: int, price: int) -> int:
        self._view.catch_up()
        return self._queued.qty_at(side, price)


class View:
    def __init__(
        self,
        core: Core,
        config: CoreConfig,
        tracker: QueueTracker,
        orders: OwnOrders,
        params: dict[str, Any] | None = None,
        increments: tuple[int, int] = (1, 1),
    ) -> None:
        self._core, self._config, self._tracker, self._orders = core, config, tracker, orders
        self.price_increment, self.qty_increment = increments
        self.money = Money(config)
        self.params = dict(params or {})
        self.instruments = tuple(i.id for i in config.instruments)
        self._books = {i: BookView(tracker.book(i), core, i, self) for i in self.instruments}
        # A runtime that folds market data in batches sets this to bring State up to the event
        # being decided on; every read calls it first, so a strategy never sees State run ahead
        # or lag behind (canonicalflow.backtest._lane).
        self.catch_up: Callable[[], None] = _current

    @property
    def now(self) -> int:
        """The Core's clock: the latest receive time, in ns."""
        self.catch_up()
        return self._core.now

    @property
    def trading(self) -> bool:
        self.catch_up()
        control = self._core.control
        return control.trading_enabled and not control.kill_switch

    def instrument(self, instrument: int | None = None) -> Instrument:
        return self._config.instrument(self._default(instrument))

    def book(self, instrument: int | None = None) -> BookView:
        return self._books[self._default(instrument)]

    def orders(self, instrument: int | None = None) -> list[OwnOrder]:
        """Our open orders (and NEWs still queued), with their queue places."""
        self.catch_up()
        return self._orders.view(instrument)

    def order(self, client_order_id: int) -> OwnOrder | None:
        self.catch_up()
        return self._orders.get(client_order_id)

    def position(self, instrument: int | None = None) -> int:
        """Lots held, signed."""
        return self.portfolio(instrument).qty

    def portfolio(self, instrument: int | None = None) -> Position:
        """The instrument's position in integers: lots, cost, realized PnL, fees."""
        self.catch_up()
        return self._core.positions.get(self._default(instrument), _FLAT)

    def mark(self, instrument: int | None = None) -> Fraction | None:
        """The price held lots are valued at, in ticks: the mid, else the last trade, else None."""
        self.catch_up()
        i = self._default(instrument)
        mid = self._books[i].mid()
        if mid is not None:
            return mid
        quote = self._core.quotes.get(i)
        return Fraction(quote.last_price) if quote is not None and quote.last_qty > 0 else None

    def pnl(self, instrument: int | None = None) -> Fraction | None:
        """Realized + unrealized at the mark - fees, in currency; all instruments when None.

        None when lots are held that cannot be marked (no mid, no trade yet): unknown, not zero.
        """
        chosen = self.instruments if instrument is None else (instrument,)
        total = Fraction(0)
        for i in chosen:
            realized, unrealized, fees = self.money.pnl(i, self.portfolio(i), self.mark(i))
            if unrealized is None:
                return None
            total += realized + unrealized - fees
        return total

    def round_price(self, side: int, price: int) -> int:
        """`price` on the tradable grid (`risk.price_increment` ticks): a buy down, a sell up, as risk does."""
        return round_price(side, price, self.price_increment)

    def round_qty(self, lots: int) -> int:
        """`lots` down onto the tradable grid (`risk.qty_increment`); 0 when below one increment."""
        return lots - lots % self.qty_increment

    def _default(self, instrument: int | None) -> int:
        return self.instruments[0] if instrument is None else instrument
