"""Turns a Strategy into the sequencer's `decide`: the cadence, the hooks, and fresh ids.

Each action becomes an `Intent` with the next intent id; a NEW without a client order id gets
the next free one (they count from 1: a strategy that names its own ids should not also leave
them to the runner). An engaged kill switch cancels every order of ours; the strategy is not asked. A price that is not a whole number of ticks (one computed from a Fraction mid) is rounded away
from the market: a buy down, a sell up. A REPLACE keeps the side, type and time in force of the order it moves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from canonicalflow.events import Command, Event, EventKind, EventLike, EventRows, Flag, Intent
from canonicalflow.state import TIMER_WAKEUP, Core, StepResult
from canonicalflow.strategy._base import Cadence, Strategy
from canonicalflow.strategy._intents import Action, Cancel, New, Replace
from canonicalflow.strategy._view import View

__all__ = ["StrategyDriver"]

_K = EventKind
_LAST = int(Flag.LAST_IN_PACKET)
_TRADE = int(EventKind.TRADE)
_KILL_SWITCH = int(EventKind.KILL_SWITCH)
_NEW, _REPLACE, _CANCEL = Command.NEW, Command.REPLACE, Command.CANCEL


class StrategyDriver:
    def __init__(self, strategy: Strategy[Any], view: View, cadence: Cadence) -> None:
        self.strategy, self.view, self.cadence = strategy, view, cadence
        self._on = frozenset(cadence.on)
        self._book_on, self._trade_on = "book" in self._on, "trade" in self._on
        self._every = cadence.every
        self._wants_all = type(strategy).wants is Strategy.wants  # `wants` not overridden: always True
        self.deciding_row = 0
        self._started = False
        self._market_events = 0
        self._next_intent = 0
        self._next_order = 0
        self.decisions = 0  # how many times a hook was called

    def __call__(self, core: Core, ev: Event, step: StepResult) -> list[Intent]:
        """The intents the strategy returns for one event, as the cadence asks it.
        Twin: `StrategyDriver.first_acting` (market events of a batch)."""
        actions: list[Action] = []
        if ev.kind < 20:
            if not self._started:
                self._started = True
                actions.extend(self.strategy.on_start(self.view) or ())
            actions.extend(self._market(ev) or ())
        elif ev.kind == _KILL_SWITCH and ev.engaged:
            # the kill switch: every order of ours cancelled, decided here so a replay cancels the same
            actions.extend(Cancel(order.client_order_id) for order in self.view.orders())
        else:
            hook = self._hook(ev)
            if hook is not None and self.strategy.wants(self.view, ev):
                self.decisions += 1
                actions.extend(hook() or ())
        return [self._intent(action) for action in actions]

    @property
    def started(self) -> bool:
        """`on_start` has run: it runs on the first market event."""
        return self._started

    @property
    def asks_market(self) -> bool:
        """The strategy is asked about book or trade events at all."""
        return self._book_on or self._trade_on

    def first_acting(self, rows: EventRows, start: int, stop: int) -> tuple[int, list[Intent]] | None:
        """Ask about the market events `rows[start:stop]` in order, as `__call__` would one at a
        time once started; the first row whose hook returns actions, with its intents, or None.

        For a runtime that folds market data in batches: hooks get each row read in place (an
        `EventRow`), and `deciding_row` names the row being decided while its hook runs, so the
        view can bring State to it on the first read.

        Twin: `StrategyDriver.__call__`.
        """
        simple = self._every == 1 and not self.cadence.packet_end and self._wants_all
        if not simple:
            for row in range(start, stop):
                self.deciding_row = row
                actions = self._market(rows[row])
                if actions and (intents := [self._intent(action) for action in actions]):
                    return row, intents
            return None
        on_book, on_trade, view, kinds = self.strategy.on_book, self.strategy.on_trade, self.view, rows.kinds
        book_on, trade_on, asked = self._book_on, self._trade_on, 0
        try:
            for row in range(start, stop):
                if kinds[row] == _TRADE:
                    if not trade_on:
                        continue
                    hook = on_trade
                elif book_on:
                    hook = on_book
                else:
                    continue
                self.deciding_row = row
                asked += 1
                actions = hook(view, rows[row])
                if actions and (intents := [self._intent(action) for action in actions]):
                    return row, intents
            return None
        finally:
            self._market_events += asked
            self.decisions += asked

    def _market(self, ev: EventLike) -> Iterable[Action] | None:
        """The book or trade hook's answer, or None when the cadence skips the event."""
        strategy = self.strategy
        if ev.kind == _K.TRADE:
            if not self._trade_on:
                return None
            hook = strategy.on_trade
        elif not self._book_on or (self.cadence.packet_end and not ev.flags & _LAST):
            return None
        else:
            hook = strategy.on_book
        self._market_events += 1
        if self._market_events % self._every or not strategy.wants(self.view, ev):
            return None
        self.decisions += 1
        return hook(self.view, ev)

    def _hook(self, ev: Event) -> Callable[[], Iterable[Action] | None] | None:
        """The execution or timer hook this event calls, ready to run, or None when none is."""
        kind, strategy, view = ev.kind, self.strategy, self.view
        if kind < 40:
            return (lambda: strategy.on_execution(view, ev)) if "execution" in self._on else None
        if kind == _K.WAKEUP and ev.reason == TIMER_WAKEUP and "timer" in self._on:
            return lambda: strategy.on_timer(view, ev.due_ts)
        return None

    def _intent(self, action: Action) -> Intent:
        self._next_intent += 1
        if isinstance(action, New):
            coid = action.client_order_id
            if coid is None:
                coid = self._fresh_order_id()
            instrument = self.view.instruments[0] if action.instrument is None else action.instrument
            return Intent(
                self._next_intent,
                instrument,
                coid,
                _NEW,
                action.side,
                _whole_price(action.side, action.price),
                math.floor(action.qty),
                action.order_type,
                action.tif,
                action.expire_ts,
            )
        if not isinstance(action, Replace | Cancel):
            raise TypeError(f"a strategy returns New, Replace or Cancel, not {type(action).__name__}")
        working = self.view.order(action.client_order_id)
        instrument = working.instrument if working else self.view.instruments[0]
        if isinstance(action, Cancel):
            return Intent(self._next_intent, instrument, action.client_order_id, _CANCEL)
        side, order_type, tif, expire_ts = (
            (working.side, working.order_type, working.tif, working.expire_ts) if working else (0, 0, 0, 0)
        )
        return Intent(
            self._next_intent,
            instrument,
            action.client_order_id,
            _REPLACE,
            side,
            _whole_price(side, action.price),
            math.floor(action.qty),
            order_type,
            tif,
            expire_ts,
        )

    def _fresh_order_id(self) -> int:
        self._next_order += 1
        return self._next_order


def _whole_price(side: int, price: float) -> int:
    """A price computed from a mid (a Fraction) or a float, in whole ticks: a buy down, a sell up,
    so rounding never makes an order more aggressive than the strategy asked."""
    return math.ceil(price) if side == -1 else math.floor(price)
