"""Joins the best bid and ask when the queue there is short, and gives up a place that is poor.

Resting at the touch only pays near the front of the queue: an order with more than `max_ahead`
lots ahead of it is unlikely to fill before the price moves against it. So it joins a touch only
when at most `max_ahead` lots are shown there, and cancels an order that is no longer at the
best price or whose place has become poor: more than `max_ahead` lots ahead (a place goes back
when the order loses priority), or fewer than `min_behind` lots behind it while others are still
ahead (the level thins from the back, and a fill would come just before the price moves
through). On every instrument of the run.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from canonicalflow.events import Event, EventLike, TimeInForce
from canonicalflow.strategy import BUY, SELL, Action, Cancel, New, OwnOrder, Strategy, View

__all__ = ["QueueAwareJoiner"]


class QueueJoinerParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(default=1, ge=1, description="lots per order")
    max_ahead: float = Field(default=20.0, ge=0, description="lots ahead beyond which a place is poor")
    min_behind: float = Field(default=0.0, ge=0, description="lots behind below which a place is poor")
    max_inventory: int = Field(default=10, ge=1, description="lots: no order on the side that goes beyond")


class QueueAwareJoiner(Strategy[QueueJoinerParams]):
    Params = QueueJoinerParams

    def on_book(self, view: View, ev: EventLike) -> list[Action]:
        return self.manage(view)

    def on_execution(self, view: View, ev: Event) -> list[Action]:
        return self.manage(view)

    def manage(self, view: View) -> list[Action]:
        actions: list[Action] = []
        for instrument in view.instruments:
            actions.extend(self._manage(view, instrument))
        return actions

    def _manage(self, view: View, instrument: int) -> list[Action]:
        p, book, held = self.params, view.book(instrument), view.inventory(instrument)
        touch = {BUY: book.best_bid(), SELL: book.best_ask()}
        actions: list[Action] = []
        working = view.orders(instrument)
        for side, best in touch.items():
            mine = [o for o in working if o.side == side]
            allowed = abs(held + side * p.size) <= p.max_inventory
            for o in mine:
                if o.pending is None and (not allowed or o.price != best or self._poor(o)):
                    actions.append(Cancel(o.client_order_id))
            short = best is not None and book.qty_at(side, best) <= p.max_ahead
            if best is not None and not mine and allowed and short:
                actions.append(New(side, best, p.size, instrument, tif=TimeInForce.POST_ONLY))
        return actions

    def _poor(self, o: OwnOrder) -> bool:
        if o.queue is None:
            return False
        behind = o.queue.level - o.queue.ahead  # the level shown is the feed's: ours is not in it
        return o.queue.ahead > self.params.max_ahead or (
            o.queue.ahead > 0 and behind < self.params.min_behind
        )
