"""Edge cases of the simulated venue found in review: each one a rule the venue must keep.

Same conventions as test_venue_rules.py: times in ns since T0, 100 ns latency each way, market
events 1 µs apart unless said otherwise.
"""

from __future__ import annotations

import pytest
from _venue_scenarios import (
    ASK,
    BID,
    BUY,
    GTD,
    MAKER,
    POST_ONLY,
    SELL,
    Report,
    after,
    config,
    level,
    new,
    order_add,
    order_cancel,
    order_fill,
    replace,
    run_scenario,
    us,
)
from pydantic import ValidationError

from canonicalflow.backtest import simulate
from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.events import Event, EventKind
from canonicalflow.venue import Fees, LatencyConfig, VenueConfig

L3 = config(book="l3")


def test_l3_an_execution_below_our_bid_went_through_us_first() -> None:
    """L3: our bid at 101 is better than the feed's best at 100; an execution at 100 passed through ours."""
    run = run_scenario(
        [order_add(0, 1, BID, 100, 10), order_add(0, 2, ASK, 105, 10), order_fill(1, 1, BID, 100, 5)],
        [after(1, new(1, BUY, 101, 5))],
        L3,
    )
    assert run.reports()[1:] == [Report("FILL", 1_000, 1_100, price=101, qty=5, liquidity=MAKER)]


def test_l3_one_execution_fills_our_orders_in_the_order_they_joined_and_only_once() -> None:
    """L3: a 5-lot execution behind two of ours (5 lots each) fills the first one only."""
    run = run_scenario(
        [
            order_add(0, 1, BID, 100, 2),
            order_add(0, 2, ASK, 105, 10),
            order_add(1, 3, BID, 100, 5),  # joins behind both of ours
            order_fill(2, 1, BID, 100, 2),  # the order ahead of ours goes first
            order_fill(3, 3, BID, 100, 5),  # executed behind ours: ours went first
        ],
        [after(1, new(1, BUY, 100, 5), new(2, BUY, 100, 5))],
        L3,
        watch=(1, 2),
    )
    fills = [r for r in run.reports() if r.kind == "FILL"]
    assert fills == [Report("FILL", 3_000, 3_100, price=100, qty=5, liquidity=MAKER, coid=1)]


def test_l3_a_cleared_and_rebuilt_level_never_breaks_the_queue() -> None:
    """L3: BOOK_CLEAR, the same orders re-added, then both canceled: the place ends at the front."""
    clear = Event(kind=int(EventKind.BOOK_CLEAR), ts_exchange=us(2), ts_receive=us(2), instrument=1)
    run = run_scenario(
        [
            order_add(0, 1, BID, 100, 10),
            order_add(0, 2, BID, 100, 5),
            order_add(0, 9, ASK, 105, 5),
            clear,
            order_add(2, 1, BID, 100, 10),
            order_add(2, 2, BID, 100, 5),
            order_add(2, 9, ASK, 105, 5),
            order_cancel(3, 1, BID, 100, 10),
            order_cancel(4, 2, BID, 100, 5),
        ],
        [after(2, new(1, BUY, 100, 1))],
        L3,
    )
    assert run.place_after(3) == (15.0, 15.0)  # the clear itself moves no place
    assert run.place_after(8) == (0.0, 0.0)


def test_a_snapshot_that_moves_the_ask_through_our_bid_fills_it() -> None:
    """A book rebuilt by a snapshot is compared with the book before it: the ask fell through our bid."""
    snapshot_ask = level(2, ASK, 99, 4)._replace(flags=2)  # SNAPSHOT, not the last of it
    snapshot_bid = level(2, BID, 98, 4)._replace(flags=3)  # SNAPSHOT | LAST_IN_PACKET
    clear = Event(kind=int(EventKind.BOOK_CLEAR), ts_exchange=us(2), ts_receive=us(2), instrument=1, flags=2)
    run = run_scenario(
        [level(0, BID, 99, 5), level(0, ASK, 101, 5), clear, snapshot_ask, snapshot_bid],
        [after(1, new(1, BUY, 100, 3))],
    )
    assert run.reports()[1:] == [Report("FILL", 2_000, 2_100, price=100, qty=3, liquidity=MAKER)]


def test_a_post_only_replace_repriced_back_to_its_own_price_keeps_its_place() -> None:
    """Reprice mode: a replace to a crossing price lands one tick behind the ask, where the order already was."""
    run = run_scenario(
        [level(0, BID, 99, 5), level(0, ASK, 100, 5), level(1, BID, 99, 9)],
        [after(1, new(1, BUY, 99, 2, tif=POST_ONLY)), after(2, replace(1, BUY, 101, 2, tif=POST_ONLY))],
        config(post_only="reprice"),
    )
    assert run.reports()[1] == Report("REPLACE_ACK", 1_100, 1_200, price=99, qty=2)
    assert run.venue.queue_place(1) == (5.0, 9.0)  # still behind the 5 lots that were there before it


def test_a_gtd_replaced_with_a_later_expiry_expires_then() -> None:
    """A replace carries the new expire_ts: the order expires at the new time, not the old one."""
    run = run_scenario(
        [level(0, BID, 100, 5), level(0, ASK, 101, 5), level(1, BID, 99, 3)],
        [
            after(1, new(1, BUY, 100, 3, tif=GTD, expire_ts=us(5))),
            after(2, replace(1, BUY, 100, 2, tif=GTD)._replace(expire_ts=us(9))),
        ],
    )
    assert [r.kind for r in run.reports()] == ["ACK", "REPLACE_ACK", "EXPIRED"]
    assert run.reports()[-1].at == 9_000


def test_l3_an_event_the_book_refuses_moves_no_place() -> None:
    """L3: an execution larger than the order it names is refused by the book; our place stays."""
    run = run_scenario(
        [order_add(0, 1, BID, 100, 4), order_add(0, 2, ASK, 105, 5), order_fill(2, 1, BID, 100, 9)],
        [after(1, new(1, BUY, 100, 1))],
        L3,
        core_accepts_all=False,
    )
    assert run.core_rejections() == [
        ("ORDER_FILL", ("rejected", "book", 1, "overfill"))
    ]  # the Core's book too
    assert run.place_after(2) == (4.0, 4.0)
    assert [r.kind for r in run.reports()] == ["ACK"]


def test_a_negative_latency_is_refused() -> None:
    with pytest.raises(ValidationError, match="cannot be negative"):
        LatencyConfig(entry_ns=-5)


def test_a_fee_on_a_negative_price_is_still_a_charge() -> None:
    """Fees are on the notional's size: a taker buying at a negative price still pays."""
    core = CoreConfig(
        version="neg", instruments=(Instrument(id=1, symbol="X", tick_size="0.01", lot_size="1"),)
    )
    t = us(0)
    market = [
        Event(
            kind=int(EventKind.LEVEL_SET),
            ts_exchange=t,
            ts_receive=t,
            instrument=1,
            side=BID,
            price=-500,
            qty=5,
            flags=1,
        ),
        Event(
            kind=int(EventKind.LEVEL_SET),
            ts_exchange=t,
            ts_receive=t,
            instrument=1,
            side=ASK,
            price=-400,
            qty=5,
            flags=1,
        ),
        Event(
            kind=int(EventKind.TRADE),
            ts_exchange=t + 1_000,
            ts_receive=t + 1_000,
            instrument=1,
            side=SELL,
            price=-600,
            qty=1,
            flags=1,
        ),
    ]
    sent: list[int] = []

    def decide(c: object, ev: Event, step: object) -> list:
        if ev.kind == EventKind.LEVEL_SET and ev.side == ASK and not sent:
            sent.append(1)
            return [new(1, BUY, -400, 2)._replace(intent_id=1)]
        return []

    recorded: list[Event] = []
    venue = VenueConfig(
        fees=(Fees(instrument=1, taker="0.01"),), latency=LatencyConfig(entry_ns=100, response_ns=100)
    )
    simulate(market, core, venue, decide, record=recorded.append)
    fills = [ev for ev in recorded if ev.kind == EventKind.FILL]
    assert [(ev.price, ev.qty, ev.fee) for ev in fills] == [(-400, 2, 8)]  # 1% of |-4.00 x 2| = 8 cents
