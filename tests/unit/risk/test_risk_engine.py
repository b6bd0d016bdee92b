"""Each gate of the RiskEngine denies with its own stable reason, and allows just inside its limit.

The engine runs on a live View: a backtest `Session` on a hand-made market (LEVEL_SET depth, our
own orders placed through the sequencer, ACKs and FILLs fed back as the venue would). Every
limit is met exactly on one side and missed by one tick or one lot on the other, with the
expected currency values written out here rather than taken from the engine's `Money`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from canonicalflow.backtest._config import load_config
from canonicalflow.backtest._session import Session, core_config_of
from canonicalflow.events import Event, EventKind, Intent, OrderType, TimeInForce
from canonicalflow.risk import RiskConfig, RiskEngine, RiskReason
from canonicalflow.runtime import Sequencer
from canonicalflow.strategy import BUY, SELL, Action, Cancel, New, Replace

R = RiskReason
K = EventKind
T0 = 1_700_000_000_000_000_000
US = 1_000
SEC = 1_000_000_000
BID0, ASK0 = 9_990, 10_010  # instrument 1: mid 10_000 ticks = 100.00
BID2, ASK2 = 199, 201  # instrument 2: mid 200 ticks
NEW, REPLACE, CANCEL = 1, 2, 3
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET

INSTRUMENTS = (
    {"id": 1, "symbol": "ONE", "tick_size": "0.01", "lot_size": "1"},
    {"id": 2, "symbol": "TWO", "tick_size": "0.05", "lot_size": "2", "multiplier": 5},
)
# Currency per (tick x lot): tick_size x lot_size x multiplier, worked out by hand.
PER_TICK_LOT = {1: Fraction(1, 100), 2: Fraction(5, 100) * 2 * 5}


def value(instrument: int, ticks: int | Fraction, lots: int) -> Fraction:
    return abs(ticks) * lots * PER_TICK_LOT[instrument]


class Desk:
    """A Session on a hand-made market; we play the venue (ACK, FILL) and the strategy (`submit`)."""

    def __init__(
        self, risk: dict[str, Any] | None = None, *, enable: bool = True, sample_ms: int = 3_600_000
    ) -> None:
        config = load_config(
            {
                "name": "risk-test",
                "data": {"generator": {"events": 1}},
                "instruments": list(INSTRUMENTS),
                "risk": risk or {},
                "strategy": {"class": "canonicalflow.testing:Scripted"},
                "run": {"sample_ms": sample_ms},
            }
        )
        self.sent: list[Event] = []
        self.recorded: list[Event] = []
        session = Session(config, core_config_of(config, config.instruments), self.sent.append)

        def record(ev: Event) -> None:
            self.recorded.append(ev)
            session.recorder.record(ev)

        session.sequencer = Sequencer(
            session.core, record, session.risk, session.driver, send=self.sent.append
        )
        self.session, self.core, self.view, self.risk = session, session.core, session.view, session.risk
        self.strategy = session.driver.strategy
        self.now = T0
        self._next_coid = 1_000
        self._next_trade = 0
        if enable:
            session.open_session(T0)  # TRADING_ENABLED (unless the config disables trading), SESSION_START
        else:
            self.feed(K.SESSION_START)  # the session opens, but trading is never enabled
        self.quote(BID0, ASK0)
        self.quote(BID2, ASK2, instrument=2)

    # ------------------------------------------------------------- the stream
    def feed(self, kind: EventKind, dt: int = US, **fields: int) -> None:
        self.now += dt
        fields.setdefault("instrument", 1)
        self.session.sequencer.feed(
            Event(kind=int(kind), ts_exchange=self.now, ts_receive=self.now, **fields)
        )

    def quote(self, bid: int | None, ask: int | None, instrument: int = 1, lots: int = 10) -> None:
        """The book becomes one level a side (None: that side empty)."""
        self.feed(K.BOOK_CLEAR, instrument=instrument)
        for side, price in ((1, bid), (-1, ask)):
            if price is not None:
                self.feed(K.LEVEL_SET, instrument=instrument, side=side, price=price, qty=lots)

    def submit(self, *actions: Action) -> list[Event]:
        """The strategy returns `actions` at the next event (a one-lot print far below the book)."""
        start = len(self.recorded)
        self.strategy.todo = list(actions)
        self.feed(K.TRADE, side=1, price=1, qty=1)
        return [ev for ev in self.recorded[start:] if ev.kind == K.RISK_DECISION]

    def place(self, side: int, price: int, lots: int, instrument: int = 1, **terms: int) -> int:
        """A working order: allowed by risk, sent, acknowledged at its terms."""
        self._next_coid += 1
        coid = self._next_coid
        [decision] = self.submit(New(side, price, lots, instrument, client_order_id=coid, **terms))
        assert decision.allowed, f"placing {coid} was denied: {R(decision.reason).name}"
        sent = self.sent[-1]
        assert sent.client_order_id == coid
        self.feed(K.ACK, instrument=instrument, client_order_id=coid, price=sent.price, qty=sent.qty)
        return coid

    def fill(self, coid: int, lots: int, fee: int = 0) -> None:
        order = self.view.order(coid)
        self._next_trade += 1
        self.feed(
            K.FILL,
            instrument=order.instrument,
            client_order_id=coid,
            side=order.side,
            price=order.price,
            qty=lots,
            trade_id=self._next_trade,
            liquidity=1,
            fee=fee,
        )

    def hold(self, side: int, lots: int, price: int = 10_000, instrument: int = 1, fee: int = 0) -> None:
        """Open a position: an order placed and filled whole at `price`."""
        self.fill(self.place(side, price, lots, instrument), lots, fee)

    # ------------------------------------------------------------------ risk
    def check(self, intent: Intent) -> tuple[RiskReason, Intent]:
        reason, out = self.risk(intent)
        assert type(reason) is int
        return R(reason), out


def new(
    side: int,
    price: int,
    qty: int,
    *,
    instrument: int = 1,
    order_type: int = LIMIT,
    tif: int = TimeInForce.GTC,
    expire_ts: int = 0,
    coid: int = 99,
    command: int = NEW,
) -> Intent:
    return Intent(1, instrument, coid, command, side, price, qty, order_type, tif, expire_ts)


def replace(coid: int, side: int, price: int, qty: int, instrument: int = 1) -> Intent:
    return new(side, price, qty, instrument=instrument, coid=coid, command=REPLACE)


def cancel(coid: int, instrument: int = 1) -> Intent:
    return Intent(1, instrument, coid, CANCEL)


def mid_pnl(lots: int, cost: int, bid: int, ask: int, fees_units: int = 0) -> Fraction:
    """PnL of `lots` bought at `cost` ticks, marked at the mid, on instrument 1 (cents of fees)."""
    return lots * (Fraction(bid + ask, 2) - cost) * PER_TICK_LOT[1] - Fraction(fees_units, 100)


# ------------------------------------------------------------------ trading switches
def test_trading_disabled_in_the_configuration_denies_every_new_and_replace_but_not_cancels() -> None:
    desk = Desk({"trading_enabled": False})
    assert not desk.core.control.switches.trading_enabled  # open_session did not enable it
    desk.feed(K.TRADING_ENABLED)  # even a control event cannot override the configuration
    assert desk.core.control.switches.trading_enabled
    assert desk.check(new(BUY, 10_000, 1))[0] is R.TRADING_DISABLED
    assert desk.check(replace(5, BUY, 10_000, 1))[0] is R.TRADING_DISABLED
    assert desk.check(cancel(5))[0] is R.ALLOWED


def test_trading_is_off_until_the_core_hears_trading_enabled_and_again_after_trading_disabled() -> None:
    desk = Desk(enable=False)
    assert desk.check(new(BUY, 10_000, 1))[0] is R.TRADING_DISABLED
    assert desk.check(cancel(5))[0] is R.ALLOWED
    desk.feed(K.TRADING_ENABLED)
    assert desk.check(new(BUY, 10_000, 1))[0] is R.ALLOWED
    desk.feed(K.TRADING_DISABLED)
    assert desk.check(new(BUY, 10_000, 1))[0] is R.TRADING_DISABLED
    assert desk.check(cancel(5))[0] is R.ALLOWED


def test_the_kill_switch_denies_until_it_is_released() -> None:
    desk = Desk()
    desk.feed(K.KILL_SWITCH, engaged=1)
    assert desk.check(new(BUY, 10_000, 1))[0] is R.KILL_SWITCH
    assert desk.check(replace(5, BUY, 10_000, 1))[0] is R.KILL_SWITCH
    assert desk.check(cancel(5))[0] is R.ALLOWED
    desk.feed(K.TRADING_DISABLED)
    assert desk.check(new(BUY, 10_000, 1))[0] is R.TRADING_DISABLED  # the trading switch is asked first
    desk.feed(K.TRADING_ENABLED)
    desk.feed(K.KILL_SWITCH, engaged=0)
    assert desk.check(new(BUY, 10_000, 1))[0] is R.ALLOWED


# ------------------------------------------------------------------ cancels
def _kill_switch(desk: Desk) -> None:
    desk.feed(K.KILL_SWITCH, engaged=1)


def _trading_disabled(desk: Desk) -> None:
    desk.feed(K.TRADING_DISABLED)


def _loss(desk: Desk) -> None:
    desk.hold(BUY, 10)
    desk.quote(9_000, 9_002)  # 10 lots down 9.99 each: far beyond max_loss


BLOCKED = [
    pytest.param({}, _kill_switch, R.KILL_SWITCH, id="kill-switch"),
    pytest.param({}, _trading_disabled, R.TRADING_DISABLED, id="trading-disabled"),
    pytest.param({"max_loss": 5}, _loss, R.MAX_LOSS, id="max-loss"),
    pytest.param({"max_inventory": 3}, lambda desk: None, R.MAX_INVENTORY, id="max-position"),
    pytest.param({"max_active_quotes": 1}, lambda desk: None, R.MAX_ACTIVE_QUOTES, id="active-quotes"),
    pytest.param({"max_order_qty": 3}, lambda desk: None, R.MAX_ORDER_QTY, id="max-order-qty"),
]


@pytest.mark.parametrize(("risk", "block", "denied"), BLOCKED)
def test_a_cancel_passes_every_gate_and_goes_to_the_venue(risk, block, denied: RiskReason) -> None:
    desk = Desk(risk)
    working = desk.place(BUY, 9_980, 3)  # 3 lots: max_inventory and max_order_qty are reached exactly
    block(desk)
    assert desk.check(new(BUY, 9_980, 4))[0] is denied
    for coid in (working, 4242):  # a working order, and one risk has never heard of
        reason, out = desk.check(cancel(coid))
        assert reason is R.ALLOWED and out == cancel(coid)
    [decision] = desk.submit(Cancel(working))
    assert (decision.allowed, decision.reason) == (1, 0)
    assert (desk.sent[-1].client_order_id, desk.sent[-1].command) == (working, CANCEL)


def test_a_cancel_on_an_instrument_the_run_does_not_trade_is_denied() -> None:
    desk = Desk()
    assert desk.check(cancel(5, instrument=9))[0] is R.INVALID_INSTRUMENT


# ------------------------------------------------------------------ losses
@pytest.mark.parametrize(
    ("bid", "ask", "fee", "reason"),
    [
        (9_905, 9_906, 50, R.ALLOWED),  # PnL -9.95: just inside
        (9_904, 9_906, 50, R.MAX_LOSS),  # PnL -10.00: at the limit
        (9_900, 9_901, 0, R.ALLOWED),  # PnL -9.95 without fees
        (9_899, 9_901, 0, R.MAX_LOSS),  # PnL -10.00 without fees
    ],
)
def test_max_loss_denies_once_pnl_at_the_mid_reaches_minus_max_loss(
    bid: int, ask: int, fee: int, reason: RiskReason
) -> None:
    desk = Desk({"max_loss": 10})
    desk.hold(BUY, 10, price=10_000, fee=fee)
    desk.quote(bid, ask)
    pnl = mid_pnl(10, 10_000, bid, ask, fee)
    assert desk.view.pnl() == pnl
    assert pnl in (Fraction(-10), Fraction(-995, 100))  # the case sits on one side of the boundary
    assert desk.check(new(BUY, 9_000, 1))[0] is reason
    assert desk.check(new(SELL, 10_500, 1))[0] is reason  # reducing orders too: only cancels pass
    assert desk.check(cancel(5))[0] is R.ALLOWED


def test_max_drawdown_measures_from_the_peak_pnl_risk_has_seen() -> None:
    desk = Desk({"max_drawdown": 15})
    desk.hold(BUY, 10, price=10_000)
    desk.quote(10_099, 10_101)  # PnL +10.00
    assert desk.check(new(BUY, 9_000, 1))[0] is R.ALLOWED  # the check itself observes the peak
    assert desk.risk.peak == mid_pnl(10, 10_000, 10_099, 10_101) == 10
    desk.quote(9_950, 9_951)  # PnL -4.95: 14.95 below the peak
    assert desk.check(new(BUY, 9_000, 1))[0] is R.ALLOWED
    desk.quote(9_949, 9_951)  # PnL -5.00: 15 below the peak
    assert desk.check(new(BUY, 9_000, 1))[0] is R.MAX_DRAWDOWN
    desk.quote(9_999, 10_001)  # back to 0: 10 below the peak
    assert desk.check(new(BUY, 9_000, 1))[0] is R.ALLOWED


def test_observe_raises_the_peak_the_drawdown_is_measured_from() -> None:
    desk = Desk({"max_drawdown": 15})
    desk.hold(BUY, 10, price=10_000)
    assert desk.check(new(BUY, 9_000, 1))[0] is R.ALLOWED  # PnL 0
    desk.risk.observe(desk.now, Fraction(15))  # an equity sample saw +15
    assert desk.check(new(BUY, 9_000, 1))[0] is R.MAX_DRAWDOWN
    desk.risk.observe(desk.now, Fraction(14))  # lower than the peak: the peak stays
    assert desk.risk.peak == 15


def test_the_runners_equity_samples_feed_the_drawdown_without_any_check_in_between() -> None:
    desk = Desk({"max_drawdown": 15}, sample_ms=1_000)
    desk.hold(BUY, 10, price=10_000)
    desk.quote(10_099, 10_101)  # +10.00, and no intent is checked while it lasts
    desk.feed(K.TRADE, dt=2 * SEC, side=1, price=1, qty=1)  # past a sample time: the recorder samples +10
    desk.quote(9_949, 9_951)  # -5.00
    assert desk.check(new(BUY, 9_000, 1))[0] is R.MAX_DRAWDOWN


def test_rolling_loss_compares_with_the_highest_pnl_inside_the_window() -> None:
    desk = Desk({"rolling_loss": 5, "rolling_window_s": 1})
    desk.hold(BUY, 10, price=10_000)
    desk.quote(10_099, 10_101)  # +10.00
    assert desk.check(new(BUY, 9_000, 1))[0] is R.ALLOWED
    high_at = desk.now
    desk.feed(K.TRADE, dt=SEC // 2, side=1, price=1, qty=1)
    desk.quote(10_050, 10_051)  # +5.05: 4.95 below the window's high
    assert desk.check(new(BUY, 9_000, 1))[0] is R.ALLOWED
    desk.quote(10_049, 10_051)  # +5.00: 5 below
    assert desk.check(new(BUY, 9_000, 1))[0] is R.ROLLING_LOSS
    desk.feed(K.TRADE, dt=high_at + SEC - desk.now, side=1, price=1, qty=1)
    assert desk.now == high_at + SEC  # the window still holds the high, at its far edge
    assert desk.check(new(BUY, 9_000, 1))[0] is R.ROLLING_LOSS
    desk.feed(K.TRADE, dt=1, side=1, price=1, qty=1)
    # the +10 high has left the window; the highest left is +5.05, seen half a second ago
    assert desk.check(new(BUY, 9_000, 1))[0] is R.ALLOWED


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    ("intent", "reason"),
    [
        (new(BUY, 10_000, 1, command=0), R.INVALID_COMMAND),
        (new(BUY, 10_000, 1, command=4), R.INVALID_COMMAND),
        (new(BUY, 10_000, 1, instrument=3), R.INVALID_INSTRUMENT),
        (new(BUY, 10_000, 1, instrument=0), R.INVALID_INSTRUMENT),
        (new(0, 10_000, 1), R.INVALID_SIDE),
        (new(2, 10_000, 1), R.INVALID_SIDE),
        (new(-2, 10_000, 1), R.INVALID_SIDE),
        (new(BUY, 10_000, 0), R.INVALID_QTY),
        (new(BUY, 10_000, -3), R.INVALID_QTY),
        (new(BUY, 10_000, 1), R.ALLOWED),
        (new(BUY, 0, 1), R.INVALID_PRICE),
        (new(SELL, -5, 1), R.INVALID_PRICE),
        (new(BUY, 1, 1), R.ALLOWED),
        (new(BUY, 10_000, 1, tif=6), R.INVALID_TIME_IN_FORCE),
        (new(BUY, 10_000, 1, tif=-1), R.INVALID_TIME_IN_FORCE),
        (new(BUY, 10_000, 1, order_type=2), R.INVALID_ORDER_TYPE),
        (new(BUY, 10_000, 1, tif=TimeInForce.DAY), R.ALLOWED),
        (new(BUY, 10_000, 1, tif=TimeInForce.POST_ONLY), R.ALLOWED),
        (new(BUY, 0, 1, order_type=MARKET, tif=TimeInForce.POST_ONLY), R.INVALID_TIME_IN_FORCE),
        (new(BUY, 0, 1, order_type=MARKET, tif=TimeInForce.GTD, expire_ts=T0 * 2), R.INVALID_TIME_IN_FORCE),
        (new(BUY, 0, 1, order_type=MARKET, tif=TimeInForce.DAY), R.INVALID_TIME_IN_FORCE),
        (new(BUY, 0, 1, order_type=MARKET, tif=TimeInForce.GTC), R.ALLOWED),
        (new(BUY, 0, 1, order_type=MARKET, tif=TimeInForce.IOC), R.ALLOWED),
        (new(SELL, 0, 1, order_type=MARKET, tif=TimeInForce.FOK), R.ALLOWED),
        (replace(4242, BUY, 10_000, 1), R.UNKNOWN_ORDER),
    ],
    ids=lambda v: v.name if isinstance(v, R) else None,
)
def test_parameters_are_validated(intent: Intent, reason: RiskReason) -> None:
    assert Desk().check(intent)[0] is reason


def test_a_gtd_order_must_expire_after_now() -> None:
    desk = Desk()
    gtd = TimeInForce.GTD
    assert desk.check(new(BUY, 10_000, 1, tif=gtd, expire_ts=desk.core.now - 1))[0] is R.INVALID_TIME_IN_FORCE
    assert desk.check(new(BUY, 10_000, 1, tif=gtd, expire_ts=desk.core.now))[0] is R.INVALID_TIME_IN_FORCE
    assert desk.check(new(BUY, 10_000, 1, tif=gtd, expire_ts=desk.core.now + 1))[0] is R.ALLOWED
    assert desk.check(new(BUY, 10_000, 1, expire_ts=desk.core.now - 1))[0] is R.ALLOWED  # only GTD expires


def test_max_order_qty_is_the_largest_size_allowed() -> None:
    desk = Desk({"max_order_qty": 5})
    assert desk.check(new(BUY, 10_000, 5))[0] is R.ALLOWED
    assert desk.check(new(BUY, 10_000, 6))[0] is R.MAX_ORDER_QTY
    assert desk.check(new(SELL, 0, 6, order_type=MARKET))[0] is R.MAX_ORDER_QTY


def test_a_replace_must_name_an_order_we_know() -> None:
    desk = Desk()
    working = desk.place(BUY, 9_980, 2)
    assert desk.check(replace(working + 1, BUY, 9_981, 2))[0] is R.UNKNOWN_ORDER
    assert desk.check(replace(working, BUY, 9_981, 2))[0] is R.ALLOWED
    desk.submit(Cancel(working))
    desk.feed(K.CANCEL_ACK, client_order_id=working)
    assert desk.check(replace(working, BUY, 9_981, 2))[0] is R.UNKNOWN_ORDER  # no longer working


# ------------------------------------------------------------------ normalisation
@pytest.mark.parametrize(
    ("side", "price", "qty", "expected"),
    [
        (BUY, 10_004, 7, (R.ALLOWED, 10_000, 6)),  # buys floored onto the grid
        (SELL, 9_996, 7, (R.ALLOWED, 10_000, 6)),  # sells ceiled
        (BUY, 10_005, 3, (R.ALLOWED, 10_005, 3)),  # on the grid already
        (SELL, 10_011, 8, (R.ALLOWED, 10_015, 6)),
        (SELL, 4, 3, (R.ALLOWED, 5, 3)),
        (BUY, 4, 3, (R.INVALID_PRICE, 4, 3)),  # floors to 0
        (BUY, 10_004, 2, (R.QTY_BELOW_LOT, 10_004, 2)),  # floors to 0 lots
        (SELL, 9_996, 1, (R.QTY_BELOW_LOT, 9_996, 1)),
    ],
)
def test_normalisation_puts_price_and_size_on_the_grid(side: int, price: int, qty: int, expected) -> None:
    desk = Desk({"price_increment": 5, "qty_increment": 3})
    intent = new(side, price, qty, tif=TimeInForce.GTD, expire_ts=T0 * 2, coid=31)
    reason, out = desk.check(intent)
    assert (reason, out.price, out.qty) == expected
    if reason is R.ALLOWED:  # only price and size change
        assert out._replace(price=price, qty=qty) == intent


def test_a_market_orders_size_is_floored_too() -> None:
    desk = Desk({"price_increment": 5, "qty_increment": 3})
    reason, out = desk.check(new(BUY, 0, 7, order_type=MARKET, tif=TimeInForce.IOC))
    assert (reason, out.qty) == (R.ALLOWED, 6)


def test_the_normalised_terms_are_what_is_recorded_and_sent() -> None:
    desk = Desk({"price_increment": 5, "qty_increment": 3})
    [decision] = desk.submit(New(BUY, 10_004, 7, client_order_id=3))
    assert (decision.allowed, decision.price, decision.qty) == (1, 10_000, 6)
    assert (desk.sent[-1].price, desk.sent[-1].qty) == (10_000, 6)


def test_a_market_order_needs_a_mid() -> None:
    desk = Desk()
    desk.quote(BID0, None)
    assert desk.check(new(BUY, 0, 1, order_type=MARKET))[0] is R.NO_MID_FOR_MARKET
    assert desk.check(new(BUY, 9_980, 1))[0] is R.ALLOWED  # a limit order does not
    desk.quote(None, ASK0)
    assert desk.check(new(SELL, 0, 1, order_type=MARKET))[0] is R.NO_MID_FOR_MARKET
    desk.quote(BID0, ASK0)
    assert desk.check(new(SELL, 0, 1, order_type=MARKET))[0] is R.ALLOWED


@pytest.mark.parametrize(
    ("increment", "side", "price", "reason"),
    [
        (1, BUY, ASK0, R.POST_ONLY_WOULD_CROSS),
        (1, BUY, ASK0 - 1, R.ALLOWED),
        (1, SELL, BID0, R.POST_ONLY_WOULD_CROSS),
        (1, SELL, BID0 + 1, R.ALLOWED),
        (5, BUY, ASK0 + 4, R.POST_ONLY_WOULD_CROSS),  # floored to the ask
        (5, BUY, ASK0 - 1, R.ALLOWED),  # floored to ASK0 - 5
        (5, SELL, BID0 - 4, R.POST_ONLY_WOULD_CROSS),  # ceiled to the bid
        (5, SELL, BID0 + 1, R.ALLOWED),  # ceiled to BID0 + 5
    ],
)
def test_post_only_must_not_cross_the_book(increment: int, side: int, price: int, reason: RiskReason) -> None:
    desk = Desk({"price_increment": increment})
    assert desk.check(new(side, price, 1, tif=TimeInForce.POST_ONLY))[0] is reason
    assert desk.check(new(side, price, 1))[0] is R.ALLOWED  # GTC may cross


def test_post_only_is_judged_against_the_book_as_received_now() -> None:
    desk = Desk()
    post_only = new(BUY, 10_005, 1, tif=TimeInForce.POST_ONLY)
    assert desk.check(post_only)[0] is R.ALLOWED
    desk.quote(BID0, 10_005)
    assert desk.check(post_only)[0] is R.POST_ONLY_WOULD_CROSS
    desk.quote(BID0, None)  # nothing offered: nothing to cross
    assert desk.check(new(BUY, 99_999, 1, tif=TimeInForce.POST_ONLY))[0] is R.ALLOWED


def test_min_notional_is_the_smallest_order_value_allowed() -> None:
    desk = Desk({"min_notional": 100})
    assert value(1, 10_000, 1) == 100 and value(1, 9_999, 1) < 100 and value(2, 200, 1) == 100
    assert desk.check(new(BUY, 10_000, 1))[0] is R.ALLOWED
    assert desk.check(new(BUY, 9_999, 1))[0] is R.MIN_NOTIONAL
    assert desk.check(new(SELL, 9_999, 1))[0] is R.MIN_NOTIONAL
    assert desk.check(new(BUY, 5_000, 2))[0] is R.ALLOWED
    assert desk.check(new(BUY, 200, 1, instrument=2))[0] is R.ALLOWED
    assert desk.check(new(BUY, 199, 1, instrument=2))[0] is R.MIN_NOTIONAL
    assert desk.check(new(BUY, 0, 1, order_type=MARKET))[0] is R.ALLOWED  # at the mid, 100.00
    desk.quote(9_999, 10_000)
    assert value(1, Fraction(9_999 + 10_000, 2), 1) < 100
    assert desk.check(new(BUY, 0, 1, order_type=MARKET))[0] is R.MIN_NOTIONAL


def test_min_notional_is_judged_after_rounding() -> None:
    desk = Desk({"min_notional": "100.02", "price_increment": 5})
    assert value(1, 10_004, 1) > Fraction("100.02") > value(1, 10_000, 1)
    assert desk.check(new(BUY, 10_004, 1))[0] is R.MIN_NOTIONAL  # floored to 10_000: 100.00
    assert value(1, 10_001, 1) < Fraction("100.02") < value(1, 10_005, 1)
    assert desk.check(new(SELL, 10_001, 1))[0] is R.ALLOWED  # ceiled to 10_005: 100.05


# ------------------------------------------------------------------ exposure
def test_max_inventory_counts_the_position_and_the_working_orders_on_the_same_side() -> None:
    desk = Desk({"max_inventory": 10})
    desk.hold(BUY, 3)  # long 3
    bid = desk.place(BUY, 9_980, 4)  # 4 more could buy
    desk.place(SELL, 10_020, 5)  # 5 could sell
    # buys: 3 held + 4 working + q <= 10
    assert desk.check(new(BUY, 9_970, 3))[0] is R.ALLOWED
    assert desk.check(new(BUY, 9_970, 4))[0] is R.MAX_INVENTORY
    assert desk.check(new(BUY, 0, 4, order_type=MARKET))[0] is R.MAX_INVENTORY
    # sells: 3 held - 5 working - q >= -10
    assert desk.check(new(SELL, 10_030, 8))[0] is R.ALLOWED
    assert desk.check(new(SELL, 10_030, 9))[0] is R.MAX_INVENTORY
    # a replace counts its own new size instead of its old one
    assert desk.check(replace(bid, BUY, 9_980, 7))[0] is R.ALLOWED
    assert desk.check(replace(bid, BUY, 9_980, 8))[0] is R.MAX_INVENTORY
    # per instrument
    assert desk.check(new(BUY, 199, 10, instrument=2))[0] is R.ALLOWED
    assert desk.check(new(BUY, 199, 11, instrument=2))[0] is R.MAX_INVENTORY


def test_max_inventory_zero_allows_no_new_order() -> None:
    desk = Desk({"max_inventory": 0})
    assert desk.check(new(BUY, 9_980, 1))[0] is R.MAX_INVENTORY
    assert desk.check(new(SELL, 10_020, 1))[0] is R.MAX_INVENTORY


def test_the_old_max_position_key_is_refused_with_its_new_name() -> None:
    with pytest.raises(ValidationError, match="`max_position` was renamed `max_inventory`"):
        RiskConfig.model_validate({"max_position": 3})
    assert RiskConfig.model_validate({"max_inventory": 3}).max_inventory == 3


def test_max_single_order_notional_values_limits_at_their_price_and_market_orders_at_the_mid() -> None:
    desk = Desk({"max_single_order_notional": 1_000})
    assert value(1, 10_000, 10) == 1_000 and value(1, 10_001, 10) > 1_000
    assert desk.check(new(BUY, 10_000, 10))[0] is R.ALLOWED
    assert desk.check(new(BUY, 10_001, 10))[0] is R.MAX_SINGLE_ORDER_NOTIONAL
    assert desk.check(new(SELL, 10_001, 10))[0] is R.MAX_SINGLE_ORDER_NOTIONAL
    assert desk.check(new(BUY, 0, 10, order_type=MARKET))[0] is R.ALLOWED  # mid 10_000
    desk.quote(10_000, 10_001)
    assert desk.check(new(BUY, 0, 10, order_type=MARKET))[0] is R.MAX_SINGLE_ORDER_NOTIONAL  # mid 10_000.5


def test_a_replace_is_valued_on_what_it_leaves_open() -> None:
    desk = Desk({"max_single_order_notional": 1_000})
    working = desk.place(BUY, 9_000, 10)
    desk.fill(working, 4)
    assert value(1, 10_000, 14 - 4) == 1_000
    assert desk.check(replace(working, BUY, 10_000, 14))[0] is R.ALLOWED
    assert desk.check(replace(working, BUY, 10_000, 15))[0] is R.MAX_SINGLE_ORDER_NOTIONAL


def test_max_gross_notional_adds_every_position_at_its_mid_to_the_order() -> None:
    desk = Desk({"max_gross_notional": 600})
    desk.hold(BUY, 3)  # 3 x 100.00 at the mid
    desk.hold(SELL, 2, price=200, instrument=2)  # |-2| x 200 ticks x 0.5 = 200.00
    held = value(1, Fraction(BID0 + ASK0, 2), 3) + value(2, Fraction(BID2 + ASK2, 2), 2)
    assert held == 500
    assert desk.check(new(BUY, 10_000, 1))[0] is R.ALLOWED  # 500 + 100.00
    assert desk.check(new(BUY, 10_001, 1))[0] is R.MAX_GROSS_NOTIONAL  # 500 + 100.01
    assert desk.check(new(SELL, 200, 1, instrument=2))[0] is R.ALLOWED  # 500 + 100.00
    assert desk.check(new(SELL, 201, 1, instrument=2))[0] is R.MAX_GROSS_NOTIONAL  # 500 + 100.50
    desk.quote(BID0 + 1, ASK0 + 1)  # the position on 1 is now worth 300.03
    assert desk.check(new(BUY, 9_997, 1))[0] is R.ALLOWED  # 500.03 + 99.97
    assert desk.check(new(BUY, 9_998, 1))[0] is R.MAX_GROSS_NOTIONAL


def test_a_position_that_cannot_be_valued_denies_under_max_gross_notional() -> None:
    desk = Desk({"max_gross_notional": 1_000_000})
    desk.hold(SELL, 2, price=200, instrument=2)
    desk.quote(None, ASK2, instrument=2)  # no mid for the position
    assert desk.check(new(BUY, 1, 1))[0] is R.MAX_GROSS_NOTIONAL
    assert desk.check(cancel(5))[0] is R.ALLOWED


def test_max_active_quotes_counts_working_orders_on_every_instrument() -> None:
    desk = Desk({"max_active_quotes": 2})
    first = desk.place(BUY, 9_980, 1)
    assert desk.check(new(BUY, 199, 1, instrument=2))[0] is R.ALLOWED  # 1 + 1
    desk.place(BUY, 199, 1, instrument=2)
    assert desk.check(new(SELL, 10_020, 1))[0] is R.MAX_ACTIVE_QUOTES  # 2 + 1
    assert desk.check(replace(first, BUY, 9_981, 1))[0] is R.ALLOWED  # moves one, adds none
    desk.submit(Cancel(first))
    assert desk.check(new(SELL, 10_020, 1))[0] is R.MAX_ACTIVE_QUOTES  # working until the venue says so
    desk.feed(K.CANCEL_ACK, client_order_id=first)
    assert desk.check(new(SELL, 10_020, 1))[0] is R.ALLOWED


def test_max_active_quotes_zero_allows_no_order() -> None:
    assert Desk({"max_active_quotes": 0}).check(new(BUY, 9_980, 1))[0] is R.MAX_ACTIVE_QUOTES


def test_max_gross_quote_notional_sums_working_orders_and_the_order() -> None:
    desk = Desk({"max_gross_quote_notional": 300})
    desk.place(BUY, 10_000, 1)  # 100.00
    desk.place(SELL, 10_010, 1)  # 100.10
    assert desk.check(new(BUY, 9_990, 1))[0] is R.ALLOWED  # 300.00
    assert desk.check(new(BUY, 9_991, 1))[0] is R.MAX_GROSS_QUOTE_NOTIONAL  # 300.01
    assert desk.check(new(SELL, 9_991, 1))[0] is R.MAX_GROSS_QUOTE_NOTIONAL  # sides add up


def test_max_net_quote_notional_nets_buys_against_sells() -> None:
    desk = Desk({"max_net_quote_notional": 100})
    desk.place(BUY, 10_000, 1)  # +100.00
    desk.place(SELL, 10_010, 1)  # -100.10: net -0.10
    assert desk.check(new(BUY, 10_010, 1))[0] is R.ALLOWED  # -0.10 + 100.10 = 100.00
    assert desk.check(new(BUY, 10_011, 1))[0] is R.MAX_NET_QUOTE_NOTIONAL  # 100.01
    assert desk.check(new(SELL, 9_990, 1))[0] is R.ALLOWED  # -0.10 - 99.90 = -100.00
    assert desk.check(new(SELL, 9_991, 1))[0] is R.MAX_NET_QUOTE_NOTIONAL  # -100.01


# ------------------------------------------------------------------ order of the gates
def test_the_first_failing_gate_names_the_reason() -> None:
    desk = Desk({"max_order_qty": 5, "qty_increment": 2, "min_notional": 50, "max_inventory": 0})
    assert desk.check(new(0, 10_000, 9, instrument=7))[0] is R.INVALID_INSTRUMENT
    assert desk.check(new(0, 10_000, 9))[0] is R.INVALID_SIDE
    assert desk.check(new(BUY, 10_000, 0, tif=9))[0] is R.INVALID_QTY
    assert desk.check(new(BUY, 10_000, 9, tif=9))[0] is R.MAX_ORDER_QTY
    assert desk.check(new(BUY, 10_000, 1, tif=9))[0] is R.INVALID_TIME_IN_FORCE
    assert desk.check(new(BUY, 10_000, 1))[0] is R.QTY_BELOW_LOT
    assert desk.check(new(BUY, 2_000, 2))[0] is R.MIN_NOTIONAL  # 40.00
    assert desk.check(new(BUY, 10_000, 2))[0] is R.MAX_INVENTORY
    desk.feed(K.KILL_SWITCH, engaged=1)
    assert desk.check(new(0, 10_000, 9))[0] is R.KILL_SWITCH
    desk.feed(K.TRADING_DISABLED)
    assert desk.check(new(0, 10_000, 9))[0] is R.TRADING_DISABLED


def test_losses_are_judged_before_parameters() -> None:
    desk = Desk({"max_loss": 5})
    _loss(desk)
    assert desk.check(new(0, -1, 0))[0] is R.MAX_LOSS


# ------------------------------------------------------------------ fail closed
def _boom(*args: object) -> None:
    raise RuntimeError("the view is broken")


@pytest.mark.parametrize(
    ("method", "risk"),
    [
        ("pnl", {"max_loss": 1}),
        ("book", {}),
        ("order", {}),
        ("orders", {}),
        ("inventory", {"max_inventory": 5}),
    ],
)
def test_an_error_inside_a_gate_denies_with_risk_error(monkeypatch, method: str, risk: dict) -> None:
    desk = Desk(risk)
    working = desk.place(BUY, 9_980, 1)
    assert desk.risk.view is not desk.view  # risk reads State through its own Reader
    monkeypatch.setattr(desk.risk.view, method, _boom)  # break what risk reads, not the strategy's view
    intent = replace(working, BUY, 9_981, 1) if method == "order" else new(BUY, 9_980, 1)
    assert desk.check(intent)[0] is R.RISK_ERROR
    assert desk.check(cancel(working))[0] is R.ALLOWED  # a cancel consults nothing that can break
    assert desk.risk.decided[R.RISK_ERROR] == 1
    sent = len(desk.sent)
    # the driver builds a replace from the strategy's view, which still works
    action = Replace(working, 9_981, 1) if method == "order" else New(BUY, 9_980, 1)
    [decision] = desk.submit(action)
    assert (decision.allowed, decision.reason) == (0, R.RISK_ERROR)  # recorded as denied
    assert len(desk.sent) == sent  # and nothing goes to the venue


# ------------------------------------------------------------------ exposure of pending work
def test_max_inventory_counts_a_pending_replace_at_its_larger_size() -> None:
    desk = Desk({"max_inventory": 10})
    working = desk.place(BUY, 9_980, 2)
    [decision] = desk.submit(Replace(working, 9_980, 8))  # 8 <= 10: allowed, and sent
    assert decision.allowed and desk.sent[-1].command == REPLACE
    assert desk.view.order(working).pending == "replace"
    # once the venue acknowledges the replace, 8 + 5 = 13 lots could be bought: beyond 10
    assert desk.check(new(BUY, 9_970, 5))[0] is R.MAX_INVENTORY


def test_a_market_order_in_flight_counts_in_the_gross_quote_notional() -> None:
    desk = Desk({"max_gross_quote_notional": 150})
    [decision] = desk.submit(New(BUY, 0, 1, order_type=MARKET, tif=TimeInForce.IOC))  # 100.00 at the mid
    assert decision.allowed and desk.view.orders()[0].status == "PendingNew"
    assert desk.check(new(BUY, 10_000, 1))[0] is R.MAX_GROSS_QUOTE_NOTIONAL  # 100.00 + 100.00 > 150


# ------------------------------------------------------------------ property
REASONS = {int(r) for r in RiskReason}

OPTIONAL_LIMITS = {
    "max_loss": st.integers(1, 30),
    "max_drawdown": st.integers(1, 30),
    "rolling_loss": st.integers(1, 30),
    "rolling_window_s": st.sampled_from([0.001, 1.0, 60.0]),
    "min_notional": st.integers(1, 300),
    "max_order_qty": st.integers(1, 20),
    "max_inventory": st.integers(0, 20),
    "max_single_order_notional": st.integers(1, 2_000),
    "max_gross_notional": st.integers(1, 5_000),
    "max_active_quotes": st.integers(0, 4),
    "max_gross_quote_notional": st.integers(1, 3_000),
    "max_net_quote_notional": st.integers(1, 3_000),
}


@st.composite
def limits(draw: st.DrawFn) -> dict[str, Any]:
    """The grid always, and up to three other limits (with all of them nearly everything is denied)."""
    drawn = {"price_increment": draw(st.integers(1, 7)), "qty_increment": draw(st.integers(1, 4))}
    for name in draw(st.lists(st.sampled_from(sorted(OPTIONAL_LIMITS)), max_size=3, unique=True)):
        drawn[name] = draw(OPTIONAL_LIMITS[name])
    return drawn


CENTRE = {1: 10_000, 2: 200}
ORDER = st.tuples(
    st.sampled_from([1, 2]), st.sampled_from([BUY, SELL]), st.integers(-20, 20), st.integers(1, 6)
)
SIDE_PRICE = st.one_of(st.none(), st.integers(-30, 30))
INTENT = st.fixed_dictionaries(
    {
        "command": st.sampled_from([NEW] * 6 + [REPLACE] * 2 + [CANCEL, 0, 4]),
        "instrument": st.sampled_from([1, 1, 1, 2, 2, 0, 3]),
        "coid": st.integers(0, 5),  # 0-2: a working order when there is one
        "side": st.sampled_from([BUY] * 4 + [SELL] * 4 + [0, 2]),
        "offset": st.integers(-40, 40),
        "raw_price": st.sampled_from(
            [None] * 8 + [-10, -1, 0, 1, 3, 4, 5, 6, 7, 30]
        ),  # a price far off the book
        "qty": st.integers(-2, 25),
        "order_type": st.sampled_from([LIMIT] * 4 + [MARKET] * 2 + [2]),
        "tif": st.sampled_from([0] * 6 + [1, 2, 3, 3, 4, 4, 5, -1, 6]),
        "expires_in": st.integers(-2, 2),
        "follow": st.sampled_from([True] * 4 + [False]),  # a replace keeps its order's instrument and side
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limits=limits(),
    held=st.lists(ORDER, max_size=2),
    working=st.lists(st.tuples(ORDER, st.integers(0, 5)), max_size=3),
    books=st.tuples(SIDE_PRICE, SIDE_PRICE, SIDE_PRICE, SIDE_PRICE),
    killed=st.sampled_from([False] * 5 + [True]),
    observed=st.lists(st.integers(-50, 50), max_size=3),
    intents=st.lists(INTENT, min_size=1, max_size=6),
)
def test_the_engine_always_answers_with_a_reason_and_normalised_terms(
    limits, held, working, books, killed, observed, intents
) -> None:
    desk = Desk()  # no limits while the state is built; the engine under test judges it afterwards
    for instrument, side, offset, lots in held:
        desk.hold(side, lots, price=CENTRE[instrument] + offset, instrument=instrument)
    coids = []
    for (instrument, side, offset, lots), filled in working:
        coid = desk.place(side, CENTRE[instrument] + offset, lots, instrument)
        if 0 < filled < lots:
            desk.fill(coid, filled)
        coids.append(coid)
    for instrument, bid, ask in ((1, books[0], books[1]), (2, books[2], books[3])):
        centre = CENTRE[instrument]
        desk.quote(
            None if bid is None else centre - 1 - abs(bid),
            None if ask is None else centre + 1 + abs(ask),
            instrument,
        )
    if killed:
        desk.feed(K.KILL_SWITCH, engaged=1)
    config = RiskConfig(**limits)
    engine = RiskEngine(config, desk.view)
    for pnl in observed:
        engine.observe(desk.core.now, Fraction(pnl))
    for drawn in intents:
        coid = coids[drawn["coid"]] if drawn["coid"] < len(coids) else 7_000 + drawn["coid"]
        instrument, side = drawn["instrument"], drawn["side"]
        order = desk.view.order(coid)
        if drawn["command"] == REPLACE and order is not None and drawn["follow"]:
            instrument, side = order.instrument, order.side  # as the driver builds a replace
        price = drawn["raw_price"]
        if price is None:
            price = CENTRE.get(instrument, 100) + drawn["offset"]
        intent = Intent(
            1,
            instrument,
            coid,
            drawn["command"],
            side,
            price,
            drawn["qty"],
            drawn["order_type"],
            drawn["tif"],
            desk.core.now + drawn["expires_in"],
        )
        reason, out = engine(intent)
        assert type(reason) is int and reason in REASONS
        event(f"{intent.command}:{R(reason).name}")  # shown by --hypothesis-show-statistics
        assert reason != R.RISK_ERROR, f"a gate raised on {intent}"
        if reason == R.ALLOWED and intent.command == NEW:
            assert out.qty > 0 and out.qty % config.qty_increment == 0
            assert 0 <= intent.qty - out.qty < config.qty_increment
            if intent.order_type == LIMIT:
                assert out.price > 0 and out.price % config.price_increment == 0
                moved = (intent.price - out.price) * intent.side  # buys only down, sells only up
                assert 0 <= moved < config.price_increment
            assert out._replace(price=intent.price, qty=intent.qty) == intent
        if reason == R.ALLOWED and intent.command == CANCEL:
            assert out == intent
