"""Rules of a backtest session, fed by hand or run from a config: the runner, the strategy's view
and the risk gate.

Each test pins a rule once broken (and fixed), or behaviour that nothing else tests: timers on the
simulation's clock, fail-closed loss gates, fractional prices, refused fills, busts that re-open
orders, the last equity sample, runs that fail, instrument overrides.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from canonicalflow.backtest import load_config, run
from canonicalflow.backtest._summary import pnl_curve
from canonicalflow.backtest._tables import EQUITY
from canonicalflow.errors import ConfigError, DataError
from canonicalflow.events import TimeInForce
from canonicalflow.journal import JournalReader
from canonicalflow.risk import RiskReason
from canonicalflow.strategies import InventorySkewMaker
from canonicalflow.strategy import BUY, SELL, Cancel, New, Replace, Strategy
from session._hand import T0, Hand, K, make_store

GENERATED = {
    "name": "session",
    "data": {"generator": {"seed": 3, "events": 3_000}},
    "instruments": [{"id": 1, "symbol": "ZI", "tick_size": "0.01", "lot_size": "1"}],
    "venue": {"book": "l3"},
    "risk": {"max_inventory": 4},
    "strategy": {"class": "canonicalflow.strategies:InventorySkewMaker"},
}


def _config(**changes: Any) -> dict:
    return {**GENERATED, **changes}


class TimerQuoter(Strategy):
    """On each timer tick: cancel what rests, join both touches."""

    def on_timer(self, view, ts):
        book = view.book()
        if book.mid() is None:
            return []
        actions = [Cancel(o.client_order_id) for o in view.orders() if o.pending is None]
        return [*actions, New(BUY, book.best_bid(), 1), New(SELL, book.best_ask(), 1)]


class Crashing(InventorySkewMaker):
    calls = 0

    def on_book(self, view, ev):
        Crashing.calls += 1
        if Crashing.calls == 1_000:
            raise RuntimeError("a bug in the strategy")
        return super().on_book(view, ev)


# ------------------------------------------------------------------ the simulation's clock


def test_a_timer_order_reaches_the_venue_before_later_market_data(tmp_path: Path) -> None:
    config = _config(
        strategy={"class": f"{__name__}:TimerQuoter", "cadence": {"on": ["timer"], "timer_ms": 100}}
    )
    result = run(config, tmp_path / "timer", progress=False, report=False)
    events = JournalReader(result.journal).events()
    back = [
        (a.kind, a.ts_receive, b.kind, b.ts_receive)
        for a, b in pairwise(events)
        if b.ts_receive < a.ts_receive
    ]
    assert back == []


# ------------------------------------------------------------------ risk


def test_the_loss_gate_fails_closed_when_a_position_cannot_be_marked() -> None:
    h = Hand(risk={"max_loss": 10})
    h.book(bid=10_000, ask=10_010)
    h.act(New(BUY, 10_000, 3))
    h.feed(K.ACK, client_order_id=1, order_id=1, price=10_000, qty=3)
    h.feed(K.FILL, client_order_id=1, side=1, price=10_000, qty=3, trade_id=5, liquidity=1)
    h.feed(K.LEVEL_SET, side=1, price=10_000, qty=0)
    h.feed(K.LEVEL_SET, side=1, price=5_000, qty=10)  # bids collapse: down 74.85 at the mid
    assert h.view.pnl() < -10
    h.feed(K.LEVEL_SET, side=-1, price=10_010, qty=0)  # then the ask side empties
    h.act(New(BUY, 5_000, 3))
    decisions = [e for e in h.recorded if e.kind == K.RISK_DECISION]
    assert decisions[-1].reason != RiskReason.ALLOWED


def test_a_fractional_sell_price_is_never_rounded_down() -> None:
    h = Hand(risk={"price_increment": 5})
    h.book(bid=10_000, ask=10_010)
    h.act(New(SELL, Fraction(20_001, 2), 1))
    sells = [e for e in h.sent if e.side == SELL]
    assert all(e.price >= Fraction(20_001, 2) for e in sells)


def test_a_replace_of_an_unknown_order_is_denied_unknown_order() -> None:
    h = Hand()
    h.book()
    h.act(Replace(42, 9_990, 3))
    decision = [e for e in h.recorded if e.kind == K.RISK_DECISION][-1]
    assert decision.reason == RiskReason.UNKNOWN_ORDER


# ------------------------------------------------------------------ OwnOrders and the recorder


def test_a_run_must_retain_at_least_one_final_order() -> None:
    with pytest.raises(ConfigError, match="retained_final_orders"):
        Hand(run={"retained_final_orders": 0})


def test_an_order_released_as_it_fills_leaves_the_view_and_keeps_its_fill_row() -> None:
    h = Hand(run={"retained_final_orders": 1})
    h.book()
    h.act(New(BUY, 9_990, 3))
    h.feed(K.ACK, client_order_id=1, order_id=1, price=9_990, qty=3)
    h.feed(K.FILL, client_order_id=1, side=1, price=9_990, qty=3, trade_id=9, liquidity=1)
    assert h.core.portfolio.holdings[1].qty == 3
    assert h.view.orders() == []
    assert [(r.status, r.filled) for r in h.orders.records] == [("Filled", 3)]
    assert len(h.session.recorder.fills) == 1


def test_a_refused_duplicate_fill_has_no_row() -> None:
    h = Hand()
    h.book()
    h.act(New(BUY, 9_990, 3))
    h.feed(K.ACK, client_order_id=1, order_id=1, price=9_990, qty=3)
    for _ in range(2):
        h.feed(K.FILL, client_order_id=1, side=1, price=9_990, qty=1, trade_id=5, liquidity=1)
    assert h.core.portfolio.holdings[1].fills == 1
    assert len(h.session.recorder.fills) == 1


def test_a_bust_that_reopens_an_order_shows_it_again() -> None:
    h = Hand()
    h.book()
    h.act(New(BUY, 9_990, 3))
    h.feed(K.ACK, client_order_id=1, order_id=1, price=9_990, qty=3)
    h.feed(K.FILL, client_order_id=1, side=1, price=9_990, qty=3, trade_id=9, liquidity=1)
    h.feed(K.TRADE_BUST, client_order_id=1, trade_id=9)
    assert h.core.execution.orders[1].cum == 0  # the Core has it working again
    assert [(o.client_order_id, o.filled) for o in h.view.orders()] == [(1, 0)]


def test_the_last_equity_sample_is_not_counted_twice() -> None:
    h = Hand()
    h.book(bid=10_000, ask=10_020)
    h.act(New(BUY, 10_000, 3))
    h.feed(K.ACK, client_order_id=1, order_id=1, price=10_000, qty=3)
    h.feed(K.FILL, client_order_id=1, side=1, price=10_000, qty=3, trade_id=5, liquidity=1)
    h.now = T0 + 3_600_000_000_000  # the last event crosses the hourly sample grid
    h.feed(K.LEVEL_SET, side=-1, price=10_020, qty=9)
    recorder = h.session.recorder
    recorder.finish()
    curve = pnl_curve(recorder.table(recorder.equity, EQUITY))
    assert curve["pnl"][-1].as_py() == pytest.approx(0.30)  # 3 lots x 10 ticks x 0.01


# ------------------------------------------------------------------ the runner


def test_force_keeps_the_previous_run_when_the_new_config_cannot_start(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(_config(), out, progress=False, report=False)
    with pytest.raises(ConfigError):
        run(_config(strategy={"class": "nowhere:Nothing"}), out, force=True, progress=False)
    assert (out / "summary.json").exists()


def test_a_run_that_crashes_keeps_the_journal_it_recorded(tmp_path: Path) -> None:
    Crashing.calls = 0
    with pytest.raises(RuntimeError):
        run(_config(strategy={"class": f"{__name__}:Crashing"}), tmp_path / "crash", progress=False)
    assert sum(1 for _ in JournalReader(tmp_path / "crash" / "journal").events()) > 1_000


def test_an_instrument_override_cannot_change_the_datasets_tick(tmp_path: Path) -> None:
    (dataset,) = make_store(tmp_path / "store", [("BBB", 2, 5, 2_000, "0.05")])
    config = _config(
        data={"store": str(tmp_path / "store"), "datasets": [dataset]},
        instruments=[{"id": 2, "symbol": "BBB", "tick_size": "0.01", "lot_size": "1", "multiplier": 10}],
    )
    try:
        result = run(config, tmp_path / "run", progress=False, report=False)
    except (ConfigError, DataError):
        return  # refusing the conflicting tick is as good
    mids = [m for m in result.equity["mid_value"].to_pylist() if m == m]
    assert mids and min(mids) > 400  # ~10,000 ticks of 0.05


def test_the_generator_with_the_default_venue_is_traded_or_refused(tmp_path: Path) -> None:
    config = {k: v for k, v in _config().items() if k != "venue"}
    try:
        result = run(config, tmp_path / "l2", progress=False, report=False)
    except (ConfigError, DataError):
        return
    assert result.summary["orders"] > 0


# ------------------------------------------------------------------ checked and right


def test_own_orders_follow_reject_replace_reject_cancel_race_expiry_and_replace_ack() -> None:
    h = Hand()
    h.book()
    h.act(New(BUY, 9_990, 3))
    h.feed(K.REJECT, client_order_id=1, reason=5)
    assert h.view.orders() == []

    h.act(New(BUY, 9_990, 3))
    h.feed(K.ACK, client_order_id=2, order_id=2, price=9_990, qty=3)
    h.act(Replace(2, 9_980, 4))
    assert (h.view.order(2).pending, h.view.order(2).requested) == ("replace", (9_980, 4))
    h.feed(K.REPLACE_REJECT, client_order_id=2, reason=1)
    o = h.view.order(2)
    assert (o.price, o.qty, o.pending, o.requested) == (9_990, 3, None, None)

    h.act(Cancel(2))  # the cancel races a fill that completes the order
    h.feed(K.FILL, client_order_id=2, side=1, price=9_990, qty=3, trade_id=9, liquidity=1)
    assert h.view.orders() == []
    h.feed(K.CANCEL_REJECT, client_order_id=2, reason=1)
    assert h.view.orders() == []

    h.act(New(SELL, 10_010, 1, tif=TimeInForce.GTD, expire_ts=h.now + 10**9))  # GTD
    h.feed(K.ACK, client_order_id=3, order_id=3, price=10_010, qty=1)
    h.feed(K.EXPIRED, client_order_id=3)
    assert h.view.orders() == []

    h.act(New(SELL, 10_010, 1))
    h.feed(K.ACK, client_order_id=4, order_id=4, price=10_010, qty=1)
    h.act(Replace(4, 10_020, 2))
    h.feed(K.REPLACE_ACK, client_order_id=4, price=10_020, qty=2)
    o = h.view.order(4)
    assert (o.price, o.qty, o.pending) == (10_020, 2, None)
    assert [(r.client_order_id, r.status, r.filled, r.replaces) for r in h.orders.records] == [
        (1, "Rejected", 0, 0),
        (2, "Filled", 3, 1),
        (3, "Expired", 0, 0),
        (4, "New", 0, 1),
    ]
    assert h.core.portfolio.holdings[1].qty == 3


def test_a_two_instrument_store_run_accounts_per_instrument_and_reruns(tmp_path: Path) -> None:
    from canonicalflow.backtest._rerun import rerun_decisions

    datasets = make_store(tmp_path / "store", [("AAA", 1, 3, 3_000, "0.01"), ("BBB", 2, 5, 3_000, "0.05")])
    config = _config(data={"store": str(tmp_path / "store"), "datasets": datasets}, instruments=[])
    result = run(config, tmp_path / "two", progress=False, report=False)
    fills = result.fills.to_pandas()
    holdings = result.holdings.to_pandas().set_index("instrument")
    for i in (1, 2):
        mine = fills[fills.instrument == i]
        assert holdings.loc[i, "inventory"] == (mine.side * mine.qty).sum()
        assert holdings.loc[i, "fills"] == len(mine)
    assert set(fills.instrument) == {1, 2}
    compared, difference = rerun_decisions(result.run_dir)
    assert difference is None and compared == result.summary["recorded_events"]
    assert load_config(config).fingerprint == result.summary["fingerprint"]
