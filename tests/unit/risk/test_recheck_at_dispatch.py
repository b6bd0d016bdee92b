"""Risk judges a queued command again when execution control lets it go, on the State of then.

With `max_orders_per_second = 1` a second NEW waits in the queue for its token. While it waits
the position moves; when the token frees (a WAKEUP), the sequencer asks risk once more. Denied,
the DISPATCH is recorded with the reason and the Core withdraws the command: nothing reaches
the venue and no token is spent. Still within the limits, it goes out as usual.

The position has to move by lots risk did not count when it allowed the NEW. A fill on an order
that was working then cannot do it: `max_inventory` counts same-side working orders, so such a
fill only turns counted leaves into position. A late fill on an order the venue has already
canceled can (FIX allows it, and so does the order lifecycle: "a late fill on a canceled order").
"""

from __future__ import annotations

import pytest

from canonicalflow._generated import execution_control_kernel as ec
from canonicalflow.backtest._config import load_config
from canonicalflow.backtest._session import Session, core_config_of
from canonicalflow.events import Event, EventKind
from canonicalflow.risk import RiskReason
from canonicalflow.runtime import Sequencer
from canonicalflow.state import RATE_LIMIT_WAKEUP, Core
from canonicalflow.strategy import BUY, Action, Cancel, New

K = EventKind
T0 = 1_700_000_000_000_000_000
US = 1_000
SEC = 1_000_000_000
MAX_INVENTORY = 8


class Run:
    """A session with one token a second; we feed the market and the venue's reports by hand."""

    def __init__(self) -> None:
        config = load_config(
            {
                "name": "recheck",
                "data": {"generator": {"events": 1}},
                "instruments": [{"id": 1, "symbol": "X", "tick_size": "0.01", "lot_size": "1"}],
                "risk": {"max_orders_per_second": 1, "max_inventory": MAX_INVENTORY},
                "strategy": {"class": "canonicalflow.testing:Scripted"},
                "run": {"sample_ms": 3_600_000},
            }
        )
        self.core_config = core_config_of(config, config.instruments)
        self.session = session = Session(config, self.core_config, lambda ev: None)
        self.recorded: list[Event] = []
        self.sent: list[Event] = []

        def record(ev: Event) -> None:
            self.recorded.append(ev)
            session.recorder.record(ev)

        session.sequencer = Sequencer(
            session.core, record, session.risk, session.driver, send=self.sent.append
        )
        self.core, self.view = session.core, session.view
        self.now = T0
        session.open_session(T0)
        for side, price in ((1, 9_990), (-1, 10_010)):
            self.feed(K.LEVEL_SET, side=side, price=price, qty=10)

    def feed(self, kind: EventKind, dt: int = US, **fields: int) -> None:
        self.now += dt
        self.session.sequencer.feed(
            Event(kind=int(kind), ts_exchange=self.now, ts_receive=self.now, instrument=1, **fields)
        )

    def submit(self, *actions: Action) -> list[Event]:
        """The strategy returns `actions` at the next event, a one-lot print far below the book."""
        start = len(self.recorded)
        self.session.driver.strategy.todo = list(actions)
        self.feed(K.TRADE, side=1, price=1, qty=1)
        return [ev for ev in self.recorded[start:] if ev.kind == K.RISK_DECISION]

    def since(self, start: int) -> list[Event]:
        return self.recorded[start:]


def _first_order_canceled_by_the_venue(run: Run) -> int:
    """Order 1 (buy 4) goes out at once and takes the only token; the venue acks it, then cancels it."""
    [decision] = run.submit(New(BUY, 9_980, 4, client_order_id=1))
    assert decision.allowed and [d.client_order_id for d in run.sent] == [1]
    token_spent_at = run.now
    run.feed(K.ACK, client_order_id=1, price=9_980, qty=4)
    run.feed(K.VENUE_CANCEL, client_order_id=1)
    assert run.view.orders() == []
    return token_spent_at


def _queue_second_order(run: Run) -> Event:
    """Order 2 (buy 5): 0 held + 5 <= 8, allowed; no token left, so it waits in the queue."""
    [decision] = run.submit(New(BUY, 9_980, 5, client_order_id=2))
    assert (decision.allowed, decision.reason) == (1, 0)
    assert run.core.execution.keys[2].queued == ec.COMMAND_NEW and 2 in run.core.execution.requests
    assert [(o.client_order_id, o.status) for o in run.view.orders()] == [(2, "Queued")]
    assert [d.client_order_id for d in run.sent] == [1]
    return decision


def _late_fill(run: Run, lots: int) -> None:
    run.feed(K.FILL, client_order_id=1, side=1, price=9_980, qty=lots, trade_id=1, liquidity=1)
    assert run.view.inventory(1) == lots
    assert run.view.orders()[0].client_order_id == 2  # the canceled order still counts for nothing


@pytest.mark.parametrize(
    ("late_lots", "reason"),
    [
        pytest.param(3, RiskReason.ALLOWED, id="3+5-within-8"),
        pytest.param(4, RiskReason.MAX_INVENTORY, id="4+5-beyond-8"),
    ],
)
def test_a_queued_new_is_judged_again_when_its_token_frees(late_lots: int, reason: RiskReason) -> None:
    run = Run()
    token_spent_at = _first_order_canceled_by_the_venue(run)
    decision = _queue_second_order(run)
    _late_fill(run, late_lots)
    due = token_spent_at + SEC
    assert [(ob.due_ts, ob.reason) for ob in run.core.obligations()] == [(due, RATE_LIMIT_WAKEUP)]

    start = len(run.recorded)
    run.feed(K.TRADE, dt=due + SEC // 2 - run.now, side=1, price=1, qty=1)  # the next input, later
    wake, dispatch, *rest = run.since(start)
    assert (wake.kind, wake.due_ts, wake.reason) == (K.WAKEUP, due, RATE_LIMIT_WAKEUP)
    assert (dispatch.kind, dispatch.client_order_id, dispatch.ts_receive) == (K.DISPATCH, 2, due)
    assert dispatch.reason == reason
    # the request judged again is the one risk allowed and the Core queued
    terms = ("intent_id", "side", "price", "qty", "order_type", "tif", "expire_ts")
    assert [getattr(dispatch, f) for f in terms] == [getattr(decision, f) for f in terms]

    if reason is RiskReason.ALLOWED:
        assert rest[0].kind == K.RATE_LIMIT_CONSUMED  # it spends the token
        assert [d.client_order_id for d in run.sent] == [1, 2]
        assert run.core.execution.keys[2].inflight == ec.COMMAND_NEW and 2 not in run.core.execution.requests
        assert [(o.client_order_id, o.status) for o in run.view.orders()] == [(2, "PendingNew")]
    else:
        assert [ev.kind for ev in rest] == [K.TRADE]  # no token spent, nothing else recorded
        assert [d.client_order_id for d in run.sent] == [1]  # nothing went to the venue
        # withdrawn: the key is back to idle (a NEW never sent leaves no key at all)
        assert run.core.execution.keys.get(2, ec.initial()) == ec.initial()
        assert 2 not in run.core.execution.requests and 2 not in run.core.execution.key_instrument
        assert run.core.dispatchable() == [] and run.core.obligations() == []
        assert run.view.orders() == [] and run.session.orders.record(2) is None  # never sent: not in the log
        # the token it did not spend is there for the next request: it goes out at once
        [again] = run.submit(New(BUY, 9_980, 4, client_order_id=3))
        assert again.allowed and [d.client_order_id for d in run.sent] == [1, 3]


def test_the_withdrawal_is_a_recorded_decision_that_replay_reproduces_without_risk() -> None:
    run = Run()
    token_spent_at = _first_order_canceled_by_the_venue(run)
    _queue_second_order(run)
    _late_fill(run, 4)
    run.feed(K.TRADE, dt=token_spent_at + 2 * SEC - run.now, side=1, price=1, qty=1)
    replayed = Core(run.core_config)
    for ev in run.recorded:
        replayed.apply(ev)
    assert replayed.digest == run.core.digest
    assert (replayed.execution.keys, replayed.execution.requests) == (
        run.core.execution.keys,
        run.core.execution.requests,
    )


def test_a_kill_switch_engaged_while_a_new_waits_cancels_it_and_a_queued_cancel_still_goes() -> None:
    run = Run()
    [first] = run.submit(New(BUY, 9_980, 2, client_order_id=1))
    assert first.allowed
    token_spent_at = run.now
    run.feed(K.ACK, client_order_id=1, price=9_980, qty=2)
    run.submit(Cancel(1), New(BUY, 9_970, 1, client_order_id=2))  # both wait for tokens
    assert (
        run.core.execution.keys[1].queued == ec.COMMAND_CANCEL
        and run.core.execution.keys[2].queued == ec.COMMAND_NEW
    )
    run.feed(K.KILL_SWITCH, engaged=1)

    start = len(run.recorded)
    run.feed(K.TRADE, dt=token_spent_at + 3 * SEC - run.now, side=1, price=1, qty=1)
    dispatches = [ev for ev in run.since(start) if ev.kind == K.DISPATCH]
    # the cancel goes (CANCEL > REPLACE > NEW) and is never judged again; the waiting NEW never
    # does: the kill switch cancels every order of ours, and a cancel of a queued NEW withdraws it
    assert [(d.client_order_id, d.command, d.reason) for d in dispatches] == [(1, 3, 0)]
    cancels = [ev.client_order_id for ev in run.recorded if ev.kind == K.RISK_DECISION and ev.command == 3]
    assert sorted(cancels) == [1, 1, 2]  # the strategy's cancel of 1, then the kill switch's of 1 and 2
    assert [(d.client_order_id, d.command) for d in run.sent] == [(1, 1), (1, 3)]
    assert 2 not in run.core.execution.keys
