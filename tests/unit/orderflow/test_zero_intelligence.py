"""The shipped order flow is seeded, consistent as an order-level book, and plausible as a market."""

from __future__ import annotations

import statistics
from itertools import pairwise

import pytest
from pydantic import ValidationError

from canonicalflow.backtest import simulate
from canonicalflow.book import ASK, BID, BookFinding, replay_books
from canonicalflow.config import BookModel, CoreConfig, Instrument
from canonicalflow.events import Event, EventKind, Intent
from canonicalflow.orderflow import ZeroIntelligence, zero_intelligence
from canonicalflow.state import replay
from canonicalflow.venue import VenueConfig

EVENTS = 30_000


@pytest.fixture(scope="module")
def flow() -> list[Event]:
    return list(zero_intelligence(ZeroIntelligence(), seed=11, events=EVENTS))


def test_the_same_seed_gives_the_same_events_and_another_seed_others(flow: list[Event]) -> None:
    assert list(zero_intelligence(ZeroIntelligence(), seed=11, events=EVENTS)) == flow
    assert list(zero_intelligence(ZeroIntelligence(), seed=12, events=1_000)) != flow[:1_000]


def test_the_stream_is_canonical_positions_and_receive_order(flow: list[Event]) -> None:
    assert [ev.position for ev in flow] == list(range(1, EVENTS + 1))
    assert all(a.ts_receive <= b.ts_receive for a, b in pairwise(flow))
    assert all(ev.ts_receive >= ev.ts_exchange for ev in flow)
    assert {EventKind(ev.kind) for ev in flow} == {
        EventKind.ORDER_ADD,
        EventKind.ORDER_CANCEL,
        EventKind.ORDER_FILL,
        EventKind.TRADE,
    }


def test_every_event_applies_to_the_book_and_it_never_crosses(flow: list[Event]) -> None:
    findings: list[BookFinding] = []
    for _ in replay_books(flow, findings=findings):
        pass
    assert findings == []


def test_a_trade_is_the_sum_of_the_fills_that_follow_it(flow: list[Event]) -> None:
    """Each market order's TRADE at a price is followed by the ORDER_FILLs that make it up."""
    groups: list[tuple[Event, list[Event]]] = []
    for ev in flow:
        if ev.kind == EventKind.TRADE:
            groups.append((ev, []))
        elif ev.kind == EventKind.ORDER_FILL:
            assert groups, "a fill before any trade"
            groups[-1][1].append(ev)
    assert groups
    for trade, fills in groups:
        assert fills and sum(f.qty for f in fills) == trade.qty
        assert all(f.price == trade.price and f.side == -trade.side for f in fills)


def test_the_market_it_makes_is_plausible(flow: list[Event]) -> None:
    """A tight spread, depth on both sides nearly always, and a few trades a second."""
    spreads, one_sided = [], 0
    for ev, book in replay_books(flow):
        if ev.flags & 1:
            bid, ask = book.best(BID), book.best(ASK)
            if bid is None or ask is None:
                one_sided += 1
            else:
                spreads.append(ask[0] - bid[0])
    seconds = (flow[-1].ts_exchange - flow[0].ts_exchange) / 1e9
    trades = sum(1 for ev in flow if ev.kind == EventKind.TRADE)
    assert 1 <= statistics.median(spreads) <= 4
    assert one_sided < 0.01 * len(spreads)
    assert 0.5 < trades / seconds < 50


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(ValidationError):
        ZeroIntelligence(limit_rate=0.5, spread=2)  # type: ignore[call-arg]


def test_a_backtest_trades_on_it_against_the_l3_venue(flow: list[Event]) -> None:
    """Quotes joined at the best get filled by the flow's market orders, in exact FIFO."""
    config = CoreConfig(
        version="zi",
        instruments=(Instrument(id=1, symbol="ZI", tick_size="0.01", lot_size="1"),),
        market=BookModel(book="l3"),
    )
    book_side = {BID: 0, ASK: 0}
    sent: list[int] = []

    def decide(core: object, ev: Event, step: object) -> list[Intent]:
        if ev.kind == EventKind.ORDER_ADD:
            book_side[ev.side] = ev.price  # a recent price on that side: good enough to quote at
        if ev.position % 500 or not all(book_side.values()) or len(sent) >= 40:
            return []
        sent.append(len(sent) + 1)
        side = BID if len(sent) % 2 else ASK
        return [Intent(len(sent), 1, len(sent), 1, side=side, price=book_side[side], qty=1)]

    recorded: list[Event] = []
    simulate(flow, config, VenueConfig(book="l3"), decide, record=recorded.append)
    fills = [ev for ev in recorded if ev.kind == EventKind.FILL]
    assert len(sent) == 40 and len(fills) >= 10
    assert not [c for r in replay(recorded, config) for c in r.rejections]
