"""The risk gate: allowed or denied, with a stable reason, for every intent and again at dispatch.

Fail-closed: a check that cannot be made (no mid to value a market order, an error while
evaluating) denies. Cancels pass every gate but the instrument's: reducing risk is never blocked.
Gates run in a fixed order (trading switches, losses, parameters, normalisation, exposure) so the
first failing one names the reason.

The loss gates watch PnL at the mid over time: its peak and its recent highs are kept here, from
the PnL seen at each check and at each `observe` (the runner's equity samples). Both come from the
stream alone, so a rerun keeps them identically.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import NamedTuple

from canonicalflow.events import Command, Intent, OrderType, TimeInForce
from canonicalflow.portfolio import round_price
from canonicalflow.risk._config import RiskConfig
from canonicalflow.risk._inputs import Quotes, RiskInputs
from canonicalflow.risk._reasons import RiskReason
from canonicalflow.state import OwnOrder

__all__ = ["RiskEngine"]

R = RiskReason
_NEW, _REPLACE, _CANCEL = Command.NEW, Command.REPLACE, Command.CANCEL
_MARKET_TIFS = frozenset((TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK))
_TIFS = frozenset(int(tif) for tif in TimeInForce)


class RiskEngine:
    """A `RiskCheck` for the sequencer: `engine(intent) -> (reason, normalised intent)`, decided on
    `inputs` (State, through `canonicalflow.state.Reader`)."""

    def __init__(self, config: RiskConfig, inputs: RiskInputs) -> None:
        self.config, self.view = config, inputs
        self._limit = {
            name: Fraction(value) if value is not None else None
            for name, value in (
                ("max_loss", config.max_loss),
                ("max_drawdown", config.max_drawdown),
                ("rolling_loss", config.rolling_loss),
                ("min_notional", config.min_notional),
                ("single", config.max_single_order_notional),
                ("gross", config.max_gross_notional),
                ("gross_quotes", config.max_gross_quote_notional),
                ("net_quotes", config.max_net_quote_notional),
            )
        }
        self._window_ns = round(config.rolling_window_s * 1e9)
        self.peak: Fraction | None = None
        self._highs: deque[tuple[int, Fraction]] = (
            deque()
        )  # (ts, pnl), pnl decreasing: the window's max first
        self.decided: dict[RiskReason, int] = {}  # how often each reason was given

    def __call__(self, intent: Intent) -> tuple[int, Intent]:
        try:
            reason, intent = self._check(intent)
        except Exception:  # a gate that cannot decide denies
            reason = R.RISK_ERROR
        self.decided[reason] = self.decided.get(reason, 0) + 1
        return int(reason), intent

    def observe(self, ts: int, pnl: Fraction) -> None:
        """Note the PnL at `ts` for the drawdown and rolling-loss gates."""
        if self.peak is None or pnl > self.peak:
            self.peak = pnl
        highs = self._highs
        while highs and highs[-1][1] <= pnl:
            highs.pop()
        highs.append((ts, pnl))
        while highs[0][0] < ts - self._window_ns:
            highs.popleft()

    # ------------------------------------------------------------------ gates
    def _check(self, intent: Intent) -> tuple[RiskReason, Intent]:
        view, config = self.view, self.config
        if intent.command not in (_NEW, _REPLACE, _CANCEL):
            return R.INVALID_COMMAND, intent
        if intent.instrument not in view.instruments:
            return R.INVALID_INSTRUMENT, intent
        if intent.command == _CANCEL:
            return R.ALLOWED, intent
        control = view.control
        if not config.trading_enabled or not control.trading_enabled:
            return R.TRADING_DISABLED, intent
        if control.kill_switch:
            return R.KILL_SWITCH, intent
        if (reason := self._losses(view.now)) is not R.ALLOWED:
            return reason, intent
        if (reason := self._parameters(intent)) is not R.ALLOWED:
            return reason, intent
        reason, intent = self._normalised(intent)
        if reason is not R.ALLOWED:
            return reason, intent
        return self._exposure(intent), intent

    def _losses(self, now: int) -> RiskReason:
        limit = self._limit
        if limit["max_loss"] is None and limit["max_drawdown"] is None and limit["rolling_loss"] is None:
            return R.ALLOWED
        pnl = self.view.pnl()
        if pnl is None:
            return R.UNMARKED_POSITION  # a loss that cannot be measured cannot be shown within limits
        self.observe(now, pnl)
        if limit["max_loss"] is not None and pnl <= -limit["max_loss"]:
            return R.MAX_LOSS
        peak = self.peak if self.peak is not None else pnl  # `observe` has just set it
        if limit["max_drawdown"] is not None and peak - pnl >= limit["max_drawdown"]:
            return R.MAX_DRAWDOWN
        if limit["rolling_loss"] is not None and self._highs[0][1] - pnl >= limit["rolling_loss"]:
            return R.ROLLING_LOSS
        return R.ALLOWED

    def _parameters(self, intent: Intent) -> RiskReason:
        if intent.command == _REPLACE and self.view.order(intent.client_order_id) is None:
            return R.UNKNOWN_ORDER
        if intent.side not in (1, -1):
            return R.INVALID_SIDE
        if intent.qty < 1:
            return R.INVALID_QTY
        limit = self.config.max_order_qty
        if limit is not None and intent.qty - self._filled(intent) > limit:
            return R.MAX_ORDER_QTY  # a REPLACE's size includes what has filled: the limit is on what is left
        if intent.order_type not in (OrderType.LIMIT, OrderType.MARKET):
            return R.INVALID_ORDER_TYPE
        if intent.tif not in _TIFS:
            return R.INVALID_TIME_IN_FORCE
        if intent.order_type == OrderType.MARKET and intent.tif not in _MARKET_TIFS:
            return R.INVALID_TIME_IN_FORCE
        if intent.tif == TimeInForce.GTD and intent.expire_ts <= self.view.now:
            return R.INVALID_TIME_IN_FORCE
        return R.ALLOWED

    def _filled(self, intent: Intent) -> int:
        if intent.command != _REPLACE:
            return 0
        working = self.view.order(intent.client_order_id)
        return working.filled if working else 0

    def _normalised(self, intent: Intent) -> tuple[RiskReason, Intent]:
        """Size down onto the lot grid, price onto the tick grid (buys down, sells up); then venue rules."""
        config, book = self.config, self.view.book(intent.instrument)
        qty = intent.qty - intent.qty % config.qty_increment
        if qty == 0:
            return R.QTY_BELOW_LOT, intent
        price = intent.price
        valued_at: int | Fraction
        if intent.order_type == OrderType.MARKET:
            mid = book.mid()
            if mid is None:
                return R.NO_MID_FOR_MARKET, intent
            valued_at = mid
        else:
            price = round_price(intent.side, price, config.price_increment)
            if price <= 0:
                return R.INVALID_PRICE, intent
            if intent.tif == TimeInForce.POST_ONLY and _would_cross(intent.side, price, book):
                return R.POST_ONLY_WOULD_CROSS, intent
            valued_at = price
        intent = intent._replace(qty=qty, price=price)
        minimum = self._limit["min_notional"]
        if minimum is not None and self.view.money.notional(intent.instrument, valued_at, qty) < minimum:
            return R.MIN_NOTIONAL, intent
        return R.ALLOWED, intent

    def _exposure(self, intent: Intent) -> RiskReason:
        view, config, limit = self.view, self.config, self._limit
        money, instrument = view.money, intent.instrument
        valued_at = intent.price if intent.order_type == OrderType.LIMIT else view.book(instrument).mid()
        if valued_at is None:
            return R.NO_MID_FOR_MARKET  # `_normalised` asked first: the mid went between the two reads
        working = [_at_worst(o, view) for o in view.orders() if o.client_order_id != intent.client_order_id]
        leaves = intent.qty
        replaced = view.order(intent.client_order_id) if intent.command == _REPLACE else None
        if replaced is not None:
            leaves = max(0, intent.qty - replaced.filled)
        notional = money.notional(instrument, valued_at, leaves)
        if config.max_inventory is not None:
            same_side = sum(o.leaves for o in working if o.instrument == instrument and o.side == intent.side)
            worst = view.inventory(instrument) + intent.side * (same_side + leaves)
            if abs(worst) > config.max_inventory:
                return R.MAX_INVENTORY
        if limit["single"] is not None and notional > limit["single"]:
            return R.MAX_SINGLE_ORDER_NOTIONAL
        if limit["gross"] is not None:
            held = Fraction(0)
            for i in view.instruments:
                lots = view.inventory(i)
                if not lots:
                    continue
                mark = view.mark(i)
                if mark is None:
                    return R.MAX_GROSS_NOTIONAL  # a holding that cannot be valued cannot be shown within
                held += money.notional(i, mark, abs(lots))
            if held + notional > limit["gross"]:
                return R.MAX_GROSS_NOTIONAL
        if config.max_active_quotes is not None and len(working) + 1 > config.max_active_quotes:
            return R.MAX_ACTIVE_QUOTES
        if limit["gross_quotes"] is not None or limit["net_quotes"] is not None:
            quoted = [(o.side, money.notional(o.instrument, o.price, o.leaves)) for o in working]
            quoted.append((intent.side, notional))
            if limit["gross_quotes"] is not None and sum(v for _, v in quoted) > limit["gross_quotes"]:
                return R.MAX_GROSS_QUOTE_NOTIONAL
            net = sum((s * v for s, v in quoted), Fraction(0))
            if limit["net_quotes"] is not None and abs(net) > limit["net_quotes"]:
                return R.MAX_NET_QUOTE_NOTIONAL
        return R.ALLOWED


class _Exposure(NamedTuple):
    """What one working order may add: lots still open at a price in ticks."""

    instrument: int
    side: int
    price: int | Fraction
    leaves: int


def _at_worst(o: OwnOrder, view: RiskInputs) -> _Exposure:
    """An order as exposed as it may become: a pending REPLACE at the larger of its two sizes and
    prices, a market order at the mark: the mid, else the last trade (its own price is 0)."""
    price: int | Fraction = o.price
    qty = o.qty
    if o.requested is not None:
        price, qty = max(o.price, o.requested[0], key=abs), max(o.qty, o.requested[1])
    if o.order_type == OrderType.MARKET:
        mark = view.mark(o.instrument)
        price = mark if mark is not None else price
    return _Exposure(o.instrument, o.side, price, qty - o.filled)


def _would_cross(side: int, price: int, book: Quotes) -> bool:
    """A post-only order that would trade on arrival against the book as we see it."""
    if side == 1:
        ask = book.best_ask()
        return ask is not None and price >= ask
    bid = book.best_bid()
    return bid is not None and price <= bid
