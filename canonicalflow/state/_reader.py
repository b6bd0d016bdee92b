"""State as a strategy and the risk gate read it: books, our orders with their queue places,
holdings and PnL, at one position. Read-only; every number comes from the Core.

A runtime that folds market data in batches sets `catch_up` to bring State up to the event being
decided on; every read calls it first, so a reader never sees State run ahead or lag behind
(`canonicalflow.backtest._lane`).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

from canonicalflow._generated import order_lifecycle_kernel as order
from canonicalflow.book import ASK, BID
from canonicalflow.config import Instrument
from canonicalflow.events import Command
from canonicalflow.portfolio import Holding, Money
from canonicalflow.queue import QueuePlace
from canonicalflow.state._control import Control
from canonicalflow.state._core import Core

__all__ = ["BookView", "OwnOrder", "Reader"]

_FLAT = Holding()
_PENDING: dict[int, str] = {Command.NEW: "new", Command.REPLACE: "replace", Command.CANCEL: "cancel"}


def _current() -> None:
    """State is already at the position being decided on: nothing to catch up."""


class OwnOrder(NamedTuple):
    """One of our working (or still queued) orders, as State holds it."""

    client_order_id: int
    instrument: int
    side: int
    price: int  # ticks: as the venue last acknowledged it (as sent, before that)
    qty: int  # lots: likewise
    filled: int
    status: str  # the order-lifecycle state, or "Queued" before it is sent
    pending: str | None  # "new", "replace" or "cancel" while a command waits or is in flight
    queue: QueuePlace | None  # our place at the venue as far as we can tell; None if not resting
    order_type: int = 0  # OrderType: 0 limit, 1 market (its price is 0)
    requested: tuple[int, int] | None = None  # (price, qty) a pending REPLACE asks for
    tif: int = 0  # TimeInForce
    expire_ts: int = 0  # GTD only

    @property
    def leaves(self) -> int:
        return self.qty - self.filled


class BookView:
    """One instrument's book as received: prices in ticks, sizes in lots.

    A feed of top-of-book quotes only (BBO events) builds no depth; the best prices and sizes then
    come from the instrument's quote, so the touch is known either way.
    """

    def __init__(self, core: Core, instrument: int, reader: Reader) -> None:
        self._queued = core.market.books[instrument]
        self._quotes, self._instrument, self._reader = core.market.quotes, instrument, reader

    def _best(self, side: int) -> tuple[int, int] | None:
        self._reader.catch_up()
        best = self._queued.book.best(side)
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
        self._reader.catch_up()
        return [(price, qty) for price, qty, _ in self._queued.book.top(side, n)]

    def qty_at(self, side: int, price: int) -> int:
        self._reader.catch_up()
        return self._queued.qty_at(side, price)


class Reader:
    """What a decision may read of State; satisfies `canonicalflow.risk.RiskInputs`."""

    def __init__(self, core: Core) -> None:
        self._core, self._config = core, core.config
        self.money = Money(core.config)
        self.instruments = tuple(i.id for i in core.config.instruments)
        self._books = {i: BookView(core, i, self) for i in self.instruments}
        self.catch_up: Callable[[], None] = _current

    @property
    def now(self) -> int:
        """The Core's clock: the latest receive time, in ns."""
        self.catch_up()
        return self._core.now

    @property
    def control(self) -> Control:
        """The session and trading switches and the kill switch."""
        self.catch_up()
        return self._core.control.switches

    @property
    def trading(self) -> bool:
        control = self.control
        return control.trading_enabled and not control.kill_switch

    def instrument(self, instrument: int | None = None) -> Instrument:
        return self._config.instrument(self._default(instrument))

    def book(self, instrument: int | None = None) -> BookView:
        return self._books[self._default(instrument)]

    def orders(self, instrument: int | None = None) -> list[OwnOrder]:
        """Our open orders, oldest first, then NEWs still queued by client order id (an order a
        checkpoint restores keeps), with their queue places."""
        self.catch_up()
        execution = self._core.execution
        found = [self._own(coid) for coid in execution.open_orders]
        for coid, request in sorted(execution.requests.items()):
            if coid in execution.open_orders or execution.keys[coid].queued != Command.NEW:
                continue
            _, side, price, qty, order_type, tif, expire_ts = request
            at = execution.key_instrument[coid]
            found.append(
                OwnOrder(
                    coid, at, side, price, qty, 0, "Queued", "new", None, order_type, None, tif, expire_ts
                )
            )
        return found if instrument is None else [o for o in found if o.instrument == instrument]

    def order(self, client_order_id: int) -> OwnOrder | None:
        """One of our open or queued orders; None once final (or never sent)."""
        self.catch_up()
        if client_order_id in self._core.execution.open_orders:
            return self._own(client_order_id)
        return next((o for o in self.orders() if o.client_order_id == client_order_id), None)

    def place(self, client_order_id: int) -> QueuePlace | None:
        """Where our resting order waits: lots ahead of it and lots shown at its price."""
        self.catch_up()
        terms = self._core.execution.terms.get(client_order_id)
        place = self._core.market.place(terms.instrument, client_order_id) if terms else None
        return place.lots if place is not None else None

    def inventory(self, instrument: int | None = None) -> int:
        """Lots held, signed."""
        return self.holding(instrument).qty

    def holding(self, instrument: int | None = None) -> Holding:
        """What we hold of the instrument, in integers: lots, cost, realized PnL, fees."""
        self.catch_up()
        return self._core.portfolio.holdings.get(self._default(instrument), _FLAT)

    def mark(self, instrument: int | None = None) -> Fraction | None:
        """The price held lots are valued at, in ticks: the mid, else the last trade, else None."""
        i = self._default(instrument)
        mid = self._books[i].mid()
        if mid is not None:
            return mid
        quote = self._core.market.quotes.get(i)
        return Fraction(quote.last_price) if quote is not None and quote.last_qty > 0 else None

    def pnl(self, instrument: int | None = None) -> Fraction | None:
        """Realized + unrealized at the mark - fees, in currency; all instruments when None.

        None when lots are held that cannot be marked (no mid, no trade yet): unknown, not zero.
        """
        chosen = self.instruments if instrument is None else (instrument,)
        total = Fraction(0)
        for i in chosen:
            realized, unrealized, fees = self.money.pnl(i, self.holding(i), self.mark(i))
            if unrealized is None:
                return None
            total += realized + unrealized - fees
        return total

    def _own(self, coid: int) -> OwnOrder:
        execution = self._core.execution
        terms, state, key = execution.terms[coid], execution.orders[coid], execution.keys.get(coid)
        pending = requested = None
        if key is not None:
            pending = _PENDING.get(key.queued) or _PENDING.get(key.inflight)
            if key.queued == Command.REPLACE:
                _, _, price, qty, *_ = execution.requests[coid]
                requested = (price, qty)
            elif key.inflight == Command.REPLACE and state.requested_qty:
                requested = (terms.replace_price or terms.price, state.requested_qty)
        place = self._core.market.place(terms.instrument, coid)
        return OwnOrder(
            coid,
            terms.instrument,
            terms.side,
            terms.price,
            terms.qty,
            state.cum,
            order.STATE_NAMES[state.state],
            pending,
            place.lots if place is not None else None,
            terms.order_type,
            requested,
            terms.tif,
            terms.expire_ts,
        )

    def _default(self, instrument: int | None) -> int:
        return self.instruments[0] if instrument is None else instrument
