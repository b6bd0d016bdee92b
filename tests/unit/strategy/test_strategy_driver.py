"""The strategy side of a session: ids handed out, replaces keep their terms, the view's touch."""

from __future__ import annotations

from typing import Any

import pytest

from canonicalflow.backtest._config import load_config
from canonicalflow.backtest._session import Session, core_config_of
from canonicalflow.events import Event, EventKind, OrderType, TimeInForce
from canonicalflow.risk import RiskReason
from canonicalflow.strategy import BUY, SELL, New, Replace

K = EventKind
T0 = 1_700_000_000_000_000_000


def _session() -> tuple[Session, list[Event], list[Event]]:
    config = load_config(
        {
            "name": "driver",
            "data": {"generator": {"events": 1}},
            "instruments": [{"id": 1, "symbol": "ONE", "tick_size": "0.01", "lot_size": "1"}],
            "strategy": {"class": "canonicalflow.testing:Scripted"},
        }
    )
    sent: list[Event] = []
    recorded: list[Event] = []
    session = Session(config, core_config_of(config, config.instruments), sent.append, tap=recorded.append)
    session.open_session(T0)
    return session, sent, recorded


def _bbo(session: Session, bid: int, ask: int, ts: int = T0) -> None:
    session.sequencer.feed(
        Event(
            kind=int(K.BBO),
            ts_exchange=ts,
            ts_receive=ts,
            instrument=1,
            bid_price=bid,
            bid_qty=3,
            ask_price=ask,
            ask_qty=4,
        )
    )


def _act(session: Session, *actions: Any, ts: int = T0) -> None:
    session.driver.strategy.todo = list(actions)
    _bbo(session, 99, 101, ts)


def test_a_quote_feed_alone_gives_the_touch() -> None:
    session, _, _ = _session()
    _bbo(session, 99, 101)
    book = session.view.book()
    assert (book.best_bid(), book.best_ask(), book.bid_qty(), book.ask_qty()) == (99, 101, 3, 4)
    assert book.mid() == 100 and book.spread() == 2


def test_fresh_ids_count_up_and_a_market_order_is_valued_at_the_quote_mid() -> None:
    session, sent, recorded = _session()
    _act(session, New(BUY, 99, 1), New(SELL, 0, 2, order_type=OrderType.MARKET, tif=TimeInForce.IOC))
    decisions = [ev for ev in recorded if ev.kind == K.RISK_DECISION]
    assert [(d.client_order_id, d.intent_id, d.allowed) for d in decisions] == [(1, 1, 1), (2, 2, 1)]
    assert [ev.client_order_id for ev in sent] == [1, 2]


def test_a_replace_keeps_the_orders_side_and_time_in_force() -> None:
    session, sent, _ = _session()
    _act(session, New(SELL, 105, 2, tif=TimeInForce.POST_ONLY))
    ack = Event(
        kind=int(K.ACK),
        ts_exchange=T0 + 1,
        ts_receive=T0 + 1,
        instrument=1,
        client_order_id=1,
        price=105,
        qty=2,
    )
    session.sequencer.feed(ack)
    _act(session, Replace(1, 106, 3), ts=T0 + 2)
    replace = sent[-1]
    assert (replace.command, replace.side, replace.tif, replace.price, replace.qty) == (2, SELL, 3, 106, 3)
    assert session.view.order(1).pending == "replace" and session.view.order(1).requested == (106, 3)


def test_a_strategy_that_returns_something_else_is_told_what_it_may_return() -> None:
    session, _, _ = _session()
    with pytest.raises(TypeError, match="New, Replace or Cancel"):
        _act(session, ("buy", 1))


def test_intents_reach_risk_as_plain_integers() -> None:
    session, _, recorded = _session()
    _act(session, New(BUY, 99, 1, tif=TimeInForce.POST_ONLY))
    decision = next(ev for ev in recorded if ev.kind == K.RISK_DECISION)
    assert type(decision.tif) is int and decision.reason == RiskReason.ALLOWED
