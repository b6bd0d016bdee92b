"""A taker: when the touch leans hard one way, it crosses the spread with a market order.

The book's imbalance at the touch, (bid lots - ask lots) / (bid lots + ask lots), predicts the
next move a little. Above `threshold` it buys, below -`threshold` it sells, at most once per
`cooldown_ms` of event time per instrument, and never past `max_inventory`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from canonicalflow.events import EventLike, OrderType, TimeInForce
from canonicalflow.strategy import BUY, SELL, Action, New, Strategy, View

__all__ = ["ImbalanceTaker"]


class TakerParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(default=1, ge=1, description="lots per order")
    threshold: float = Field(default=0.6, gt=0, lt=1, description="imbalance that triggers a take")
    cooldown_ms: int = Field(default=1_000, ge=0, description="least time between two takes")
    max_inventory: int = Field(default=10, ge=1)


class ImbalanceTaker(Strategy[TakerParams]):
    Params = TakerParams

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._last_take: dict[int, int] = {}  # instrument -> when it last took

    def on_book(self, view: View, ev: EventLike) -> list[Action]:
        p, instrument = self.params, ev.instrument
        book = view.book(instrument)
        bid_qty, ask_qty = book.bid_qty(), book.ask_qty()
        if not bid_qty or not ask_qty or view.orders(instrument):
            return []
        last = self._last_take.get(instrument)
        if last is not None and view.now - last < p.cooldown_ms * 1_000_000:
            return []
        imbalance = (bid_qty - ask_qty) / (bid_qty + ask_qty)
        side = BUY if imbalance > p.threshold else SELL if imbalance < -p.threshold else 0
        if not side or abs(view.inventory(instrument) + side * p.size) > p.max_inventory:
            return []
        self._last_take[instrument] = view.now
        return [New(side, 0, p.size, instrument, order_type=OrderType.MARKET, tif=TimeInForce.IOC)]
