"""Joins the best bid and ask, and gives up a place that is too far back in the queue.

Resting at the touch only pays when the order is near the front: an order with more than
`max_ahead` lots ahead of it is unlikely to fill before the price moves against it. So it cancels
such an order, and an order no longer at the best price, and joins again at the touch; on every instrument of the run.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from canonicalflow.events import Event, TimeInForce
from canonicalflow.strategy import BUY, SELL, Action, Cancel, New, Strategy, View

__all__ = ["QueueAwareJoiner"]


class QueueJoinerParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(default=1, ge=1, description="lots per order")
    max_ahead: float = Field(default=20.0, ge=0, description="lots ahead beyond which a place is given up")
    max_inventory: int = Field(default=10, ge=1, description="lots: no order on the side that goes beyond")


class QueueAwareJoiner(Strategy):
    Params = QueueJoinerParams

    def on_book(self, view: View, ev: Event) -> list[Action]:
        return self.manage(view)

    def on_execution(self, view: View, ev: Event) -> list[Action]:
        return self.manage(view)

    def manage(self, view: View) -> list[Action]:
        actions: list[Action] = []
        for instrument in view.instruments:
            actions.extend(self._manage(view, instrument))
        return actions

    def _manage(self, view: View, instrument: int) -> list[Action]:
        p, book, held = self.params, view.book(instrument), view.position(instrument)
        touch = {BUY: book.best_bid(), SELL: book.best_ask()}
        actions: list[Action] = []
        for side, best in touch.items():
            mine = [o for o in view.orders(instrument) if o.side == side]
            allowed = abs(held + side * p.size) <= p.max_inventory
            for o in mine:
                if o.pending is not None:
                    continue
                far_back = o.queue is not None and o.queue.ahead > p.max_ahead
                if not allowed or o.price != best or far_back:
                    actions.append(Cancel(o.client_order_id))
            if not mine and allowed and best is not None:
                actions.append(New(side, best, p.size, instrument, tif=TimeInForce.POST_ONLY))
        return actions
