"""A market maker that quotes both sides around the mid and leans its quotes against its inventory.

Fair value is the mid moved `skew` ticks per lot held the other way: long, it quotes lower (buys
less eagerly, sells more); short, higher. One post-only order per side, moved by REPLACE when its
target moves, and none on the side that would take inventory past `max_inventory`; on every
instrument of the run.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from canonicalflow.events import Event, EventLike, TimeInForce
from canonicalflow.strategy import BUY, SELL, Action, Cancel, New, Replace, Strategy, View

__all__ = ["InventorySkewMaker"]


class InventorySkewParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(default=1, ge=1, description="lots per quote")
    half_spread: float = Field(default=0.5, ge=0, description="ticks from fair value to each quote")
    skew: float = Field(default=0.25, ge=0, description="ticks fair value moves per lot held")
    max_inventory: int = Field(default=10, ge=1, description="lots: no quote on the side that goes beyond")


class InventorySkewMaker(Strategy[InventorySkewParams]):
    Params = InventorySkewParams

    def on_book(self, view: View, ev: EventLike) -> list[Action]:
        return self.quote(view)

    def on_execution(self, view: View, ev: Event) -> list[Action]:
        return self.quote(view)

    def quote(self, view: View) -> list[Action]:
        actions: list[Action] = []
        for instrument in view.instruments:
            actions.extend(self._quote(view, instrument))
        return actions

    def _quote(self, view: View, instrument: int) -> list[Action]:
        p, book = self.params, view.book(instrument)
        bid, ask, mid = book.best_bid(), book.best_ask(), book.mid()
        if mid is None or bid is None or ask is None:  # a mid means both sides show
            return []
        held = view.inventory(instrument)
        fair = mid - p.skew * held
        room = {BUY: held + p.size <= p.max_inventory, SELL: held - p.size >= -p.max_inventory}
        # on the tradable grid, and never crossing: a post-only quote that would take is refused
        raw = {
            BUY: min(math.floor(fair - p.half_spread), ask - 1),
            SELL: max(math.ceil(fair + p.half_spread), bid + 1),
        }
        targets = {side: view.round_price(side, raw[side]) if room[side] else None for side in (BUY, SELL)}
        actions: list[Action] = []
        working = view.orders(instrument)
        for side, price in targets.items():
            mine = [o for o in working if o.side == side and o.pending != "cancel"]
            if price is None:
                actions.extend(Cancel(o.client_order_id) for o in mine if o.pending is None)
            elif not mine:
                actions.append(New(side, price, p.size, instrument, tif=TimeInForce.POST_ONLY))
            elif mine[0].pending is None and (mine[0].price, mine[0].leaves) != (price, p.size):
                actions.append(Replace(mine[0].client_order_id, price, mine[0].filled + p.size))
        return actions
