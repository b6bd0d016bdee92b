"""Strategies for tests and benchmarks: driven by hand, doing nothing, quoting the touch, observing.

`Scripted` does nothing until a test leaves it actions. `NoOp` is asked about every market event
and does nothing: what asking Python costs. `TouchMaker` keeps a lot at the best bid and ask, as the
peers' runners in benchmarks/ do. `Observer` writes down what it reads at every decision, and acts
now and then, so two ways of running the same backtest can be shown to let it see the same things.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from canonicalflow.events import Event, EventLike, TimeInForce
from canonicalflow.strategy import BUY, SELL, Action, Cancel, New, NoParams, Strategy, View

__all__ = ["NoOp", "Observer", "Scripted", "TouchMaker"]


class Scripted(Strategy[NoParams]):
    """At its next hook (book, trade, execution or timer) it returns whatever the test left in `todo`."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.todo: list[Action] = []

    def _hand_over(self) -> list[Action]:
        todo, self.todo = self.todo, []
        return todo

    def on_book(self, view: View, ev: EventLike) -> list[Action]:
        return self._hand_over()

    def on_trade(self, view: View, ev: EventLike) -> list[Action]:
        return self._hand_over()

    def on_execution(self, view: View, ev: Event) -> list[Action]:
        return self._hand_over()

    def on_timer(self, view: View, ts: int) -> list[Action]:
        return self._hand_over()


class NoOp(Strategy[NoParams]):
    """Asked about every book and trade event; does nothing."""

    def on_book(self, view: View, ev: EventLike) -> None:
        return None

    def on_trade(self, view: View, ev: EventLike) -> None:
        return None


class TouchMaker(Strategy[NoParams]):
    """One lot post-only at the best bid and one at the best ask; an order the best has left is
    cancelled, and a new one placed at the next event once the cancel is confirmed."""

    def on_book(self, view: View, ev: EventLike) -> list[Action]:
        book = view.book()
        actions: list[Action] = []
        working = view.orders()
        for side, best in ((BUY, book.best_bid()), (SELL, book.best_ask())):
            mine = [o for o in working if o.side == side]
            actions.extend(Cancel(o.client_order_id) for o in mine if o.pending is None and o.price != best)
            if not mine and best is not None:
                actions.append(New(side, best, 1, tif=TimeInForce.POST_ONLY))
        return actions

    on_trade = on_book


class ObserverParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="the key its observations are kept under in `Observer.seen`")
    act_every: int = Field(
        default=0, ge=0, description="buy one lot at the bid every Nth decision (0: never)"
    )
    cancel_after: int = Field(default=1, ge=1, description="decisions later, cancel what it bought")


class Observer(Strategy[ObserverParams]):
    """Writes (position, clock, best bid, best ask, size at the bid, lots held, open orders) at every
    decision into `Observer.seen[name]` (a timer's under minus its time); every `act_every`th
    decision it bids one lot, and cancels its open orders `cancel_after` decisions later."""

    Params = ObserverParams
    seen: ClassVar[dict[str, list[tuple]]] = {}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._log = Observer.seen.setdefault(self.params.name, [])
        self._decisions = 0

    def on_book(self, view: View, ev: EventLike) -> list[Action]:
        return self._observe(view, ev.position)

    on_trade = on_execution = on_book

    def on_timer(self, view: View, ts: int) -> list[Action]:
        return self._observe(view, -ts)  # a wake-up is written down under its time, negated

    def _observe(self, view: View, at: int) -> list[Action]:
        book, orders = view.book(), view.orders()
        self._log.append(
            (
                at,
                view.now,
                book.best_bid(),
                book.best_ask(),
                book.bid_qty(),
                view.inventory(),
                len(orders),
            )
        )
        self._decisions += 1
        every = self.params.act_every
        if not every:
            return []
        if self._decisions % every == self.params.cancel_after % every:
            return [Cancel(o.client_order_id) for o in orders if o.pending is None]
        if self._decisions % every == 0 and (bid := book.best_bid()) is not None:
            return [New(BUY, bid, 1)]
        return []
