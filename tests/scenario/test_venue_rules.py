"""The simulated venue's matching rules, one small hand-built scenario per rule.

Every scenario starts from a book built at time 0, sends its orders with 100 ns entry and 100 ns
response latency (so an order sent at t is acted on at t + 100 and answered at t + 200), and
asserts the exact execution reports the rule implies. Times are ns since T0; market events are
1 µs apart. The tick is 0.1 and the lot 1, so one tick-lot is worth 10 cents.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _venue_scenarios import (
    ASK,
    BID,
    BUY,
    CORE,
    DAY,
    DAY_NS,
    FOK,
    GTD,
    IOC,
    MAKER,
    MARKET,
    POST_ONLY,
    SELL,
    T0,
    TAKER,
    Report,
    Script,
    after,
    as_report,
    at_time,
    cancel,
    config,
    level,
    new,
    replace,
    run_scenario,
    trade,
    us,
)

from canonicalflow._generated import order_lifecycle_kernel as lifecycle
from canonicalflow.backtest import simulate
from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.events import Event, EventKind
from canonicalflow.venue import Fees, LatencyConfig, SimulatedVenue, VenueConfig, VenueReason

# bid 100 x 5, ask 101 x 5, both at time 0; an order sent after event 1 is acted on at 100 ns.
BOOK = [level(0, BID, 100, 5), level(0, ASK, 101, 5)]
# three ask levels for takers to walk: 101 x 2, 102 x 3, 103 x 1 (and bid 100 x 5)
DEPTH = [level(0, BID, 100, 5), level(0, ASK, 101, 2), level(0, ASK, 102, 3), level(0, ASK, 103, 1)]
ACK_BUY_100x3 = Report("ACK", 100, 200, price=100, qty=3)


# ---------------------------------------------------------------- resting limit orders (GTC)
def test_resting_limit_fills_by_trade_excess_over_what_was_ahead() -> None:
    """A trade at our price fills a resting order only by its excess over the lots ahead (conservative)."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 100, 4), trade(2, SELL, 100, 3)],
        [after(1, new(1, BUY, 100, 3))],
    )
    assert run.place_after(2) == (1.0, 5.0)  # 4 of the 5 ahead traded: 1 lot still ahead
    assert run.reports() == [ACK_BUY_100x3, Report("FILL", 2_000, 2_100, price=100, qty=2, liquidity=MAKER)]
    assert run.place_after(3) == (0.0, 5.0)  # still resting with 1 lot, at the front


def test_trade_at_a_better_price_fills_resting_order_whole() -> None:
    """A trade through our price (a sell below our bid) fills the whole order at its own price."""
    run = run_scenario([*BOOK, trade(1, SELL, 99, 1)], [after(1, new(1, BUY, 100, 3))])
    assert run.reports() == [ACK_BUY_100x3, Report("FILL", 1_000, 1_100, price=100, qty=3, liquidity=MAKER)]


def test_opposite_best_reaching_our_price_fills_whole_at_our_price() -> None:
    """The best ask moving onto our bid price fills the whole order, as maker, at our price."""
    run = run_scenario(
        [level(0, BID, 100, 5), level(0, ASK, 102, 5), level(1, ASK, 101, 1)],
        [after(1, new(1, BUY, 101, 3))],
    )
    assert run.reports() == [
        Report("ACK", 100, 200, price=101, qty=3),
        Report("FILL", 1_000, 1_100, price=101, qty=3, liquidity=MAKER),
    ]


def test_opposite_best_moving_through_our_price_fills_whole_at_our_price() -> None:
    """The best ask jumping below our bid fills the whole order at our price, not the ask's."""
    run = run_scenario([*BOOK, level(1, ASK, 99, 4)], [after(1, new(1, BUY, 100, 3))])
    assert run.reports() == [ACK_BUY_100x3, Report("FILL", 1_000, 1_100, price=100, qty=3, liquidity=MAKER)]


@pytest.mark.parametrize(
    ("traded", "fills"),
    [
        pytest.param(7, [(1, 5), (2, 2)], id="trade-reaches-both"),
        pytest.param(3, [(1, 3)], id="first-takes-it-all"),
    ],
)
def test_own_orders_at_one_price_fill_in_the_order_they_joined(
    traded: int, fills: list[tuple[int, int]]
) -> None:
    """A trade's excess goes to our first order at the price, and only what it leaves to the next."""
    run = run_scenario(
        [level(0, BID, 99, 5), level(0, ASK, 101, 5), trade(1, SELL, 100, traded)],
        [after(1, new(1, BUY, 100, 5), new(2, BUY, 100, 5))],
        watch=(1, 2),
    )
    assert run.reports() == [
        Report("ACK", 100, 200, price=100, qty=5),
        Report("ACK", 100, 200, price=100, qty=5, coid=2),
        *(
            Report("FILL", 1_000, 1_100, price=100, qty=lots, liquidity=MAKER, coid=coid)
            for coid, lots in fills
        ),
    ]


# ------------------------------------------------------------------------------- market orders
def test_market_order_walks_displayed_depth_and_expires_the_rest() -> None:
    """A market buy takes each ask level's displayed lots at that level's price; the rest expires."""
    run = run_scenario(DEPTH, [after(3, new(1, BUY, 0, 10, order_type=MARKET))])
    assert run.reports() == [
        Report("ACK", 100, 200, price=0, qty=10),
        Report("FILL", 100, 200, price=101, qty=2, liquidity=TAKER),
        Report("FILL", 100, 200, price=102, qty=3, liquidity=TAKER),
        Report("FILL", 100, 200, price=103, qty=1, liquidity=TAKER),
        Report("EXPIRED", 100, 200),
    ]


def test_market_order_takes_no_more_than_displayed_at_each_level() -> None:
    """A market buy of 4 takes the 2 shown at 101, then 2 of the 3 shown at 102, and is done."""
    run = run_scenario(DEPTH, [after(3, new(1, BUY, 0, 4, order_type=MARKET))])
    assert run.reports() == [
        Report("ACK", 100, 200, price=0, qty=4),
        Report("FILL", 100, 200, price=101, qty=2, liquidity=TAKER),
        Report("FILL", 100, 200, price=102, qty=2, liquidity=TAKER),
    ]


# ---------------------------------------------------------------------------------- IOC / FOK
def test_ioc_fills_what_its_limit_reaches_and_expires_the_rest() -> None:
    """An IOC buy at 102 for 10 takes 101 x 2 and 102 x 3, never 103, and the remaining 5 expire."""
    run = run_scenario(DEPTH, [after(3, new(1, BUY, 102, 10, tif=IOC))])
    assert run.reports() == [
        Report("ACK", 100, 200, price=102, qty=10),
        Report("FILL", 100, 200, price=101, qty=2, liquidity=TAKER),
        Report("FILL", 100, 200, price=102, qty=3, liquidity=TAKER),
        Report("EXPIRED", 100, 200),
    ]


def test_ioc_that_cannot_take_is_acked_then_expired() -> None:
    """An IOC whose limit does not reach the opposite best gets ACK, then EXPIRED, with no fill."""
    run = run_scenario(DEPTH, [after(3, new(1, BUY, 100, 4, tif=IOC))])
    assert run.reports() == [Report("ACK", 100, 200, price=100, qty=4), Report("EXPIRED", 100, 200)]


def test_fok_with_enough_displayed_liquidity_fills_fully() -> None:
    """A FOK buy of 5 at 102 finds 2 + 3 lots within its limit and fills entirely."""
    run = run_scenario(DEPTH, [after(3, new(1, BUY, 102, 5, tif=FOK))])
    assert run.reports() == [
        Report("ACK", 100, 200, price=102, qty=5),
        Report("FILL", 100, 200, price=101, qty=2, liquidity=TAKER),
        Report("FILL", 100, 200, price=102, qty=3, liquidity=TAKER),
    ]


def test_fok_without_enough_liquidity_expires_without_any_fill() -> None:
    """A FOK buy of 6 at 102 finds only 5 lots within its limit: ACK, then EXPIRED, nothing filled."""
    run = run_scenario(DEPTH, [after(3, new(1, BUY, 102, 6, tif=FOK))])
    assert run.reports() == [Report("ACK", 100, 200, price=102, qty=6), Report("EXPIRED", 100, 200)]
    expired = run.order_after("EXPIRED")
    assert expired is not None
    assert (expired.state, expired.cum) == (lifecycle.S_EXPIRED, 0)


# ------------------------------------------------------------------------------------ post-only
def test_marketable_post_only_is_rejected_in_reject_mode() -> None:
    """A post-only buy at the best ask would take: REJECT with reason POST_ONLY_WOULD_TAKE."""
    run = run_scenario(BOOK, [after(1, new(1, BUY, 101, 3, tif=POST_ONLY))])
    assert run.reports() == [Report("REJECT", 100, 200, reason=VenueReason.POST_ONLY_WOULD_TAKE)]
    assert run.core.execution.orders[1].state == lifecycle.S_REJECTED


def test_marketable_post_only_rests_one_tick_behind_the_ask_in_reprice_mode() -> None:
    """In reprice mode a crossing post-only buy rests at ask - 1 tick; the ACK shows that price."""
    run = run_scenario(
        [level(0, BID, 99, 5), level(0, ASK, 101, 5), trade(1, SELL, 100, 1)],
        [after(1, new(1, BUY, 102, 3, tif=POST_ONLY))],
        config(post_only="reprice"),
    )
    assert run.reports() == [
        Report("ACK", 100, 200, price=100, qty=3),
        # alone at 100 with nothing ahead: a sell of 1 at 100 fills 1 lot of it
        Report("FILL", 1_000, 1_100, price=100, qty=1, liquidity=MAKER),
    ]
    assert run.venue.queue_place(1) == (0.0, 0.0)  # still resting at 100, where nothing is shown


def test_non_marketable_post_only_rests_normally_in_reprice_mode() -> None:
    """A post-only buy below the ask rests at its own price, behind the lots shown there."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 100, 6)],
        [after(1, new(1, BUY, 100, 3, tif=POST_ONLY))],
        config(post_only="reprice"),
    )
    # behind the 5 shown at 100: a sell of 6 passes it by 1 lot
    assert run.reports() == [ACK_BUY_100x3, Report("FILL", 1_000, 1_100, price=100, qty=1, liquidity=MAKER)]
    assert run.venue.queue_place(1) == (0.0, 5.0)


# ------------------------------------------------------------------------------------ GTD / DAY
def test_gtd_expires_at_its_expire_time_at_the_venue() -> None:
    """A GTD order expires at expire_ts (the venue's time) and we hear of it one response latency later."""
    run = run_scenario(BOOK, [after(1, new(1, BUY, 100, 3, tif=GTD, expire_ts=us(5)))])
    assert run.reports() == [ACK_BUY_100x3, Report("EXPIRED", 5_000, 5_100)]
    assert run.core.execution.orders[1].state == lifecycle.S_EXPIRED


def test_gtd_already_past_on_arrival_is_acked_then_expired() -> None:
    """A GTD order whose expire_ts passed before it reached the venue: ACK, then EXPIRED at once."""
    run = run_scenario(BOOK, [after(1, new(1, BUY, 100, 3, tif=GTD, expire_ts=us(0.05)))])
    assert run.reports() == [ACK_BUY_100x3, Report("EXPIRED", 100, 200)]


def test_day_order_expires_at_the_next_day_end_boundary() -> None:
    """A DAY order expires at the next VenueConfig.day_end_ns time of day after it arrived."""
    run = run_scenario(
        [*BOOK, level(6, BID, 100, 5)],
        [after(1, new(1, BUY, 100, 3, tif=DAY)), after(2, new(2, BUY, 100, 3, tif=DAY))],
        config(day_end_ns=5_000),
    )
    assert run.reports() == [
        ACK_BUY_100x3,
        Report("EXPIRED", 5_000, 5_100),  # arrived at 100 ns: today's 5 µs boundary
        Report("ACK", 6_100, 6_200, price=100, qty=3, coid=2),
        Report("EXPIRED", DAY_NS + 5_000, DAY_NS + 5_100, coid=2),  # arrived after it: tomorrow's
    ]


# --------------------------------------------------------------------------------- modify (REPLACE)
def test_replace_to_a_new_price_goes_to_the_back_of_the_new_level() -> None:
    """A price change loses priority: the order queues behind everything shown at its new price."""
    run = run_scenario(
        [
            level(0, BID, 100, 5),
            level(0, BID, 99, 4),
            level(0, ASK, 102, 5),
            trade(1, SELL, 100, 5),
            trade(2, SELL, 99, 4),
            trade(3, SELL, 99, 2),
        ],
        [after(2, new(1, BUY, 100, 3)), after(3, replace(1, BUY, 99, 3))],
    )
    assert run.place_after(3) == (0.0, 5.0)  # at the front of 100 before the replace
    assert run.place_after(4) == (0.0, 4.0)  # at 99 it was behind 4: the 4 traded, nothing for us
    assert run.reports() == [
        ACK_BUY_100x3,
        Report("REPLACE_ACK", 1_100, 1_200, price=99, qty=3),
        Report("FILL", 3_000, 3_100, price=99, qty=2, liquidity=MAKER),
    ]


def test_replace_reducing_quantity_keeps_priority() -> None:
    """A smaller quantity at the same price keeps the order's place in the queue."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 100, 3), trade(2, SELL, 100, 3)],
        [after(1, new(1, BUY, 100, 4)), after(2, replace(1, BUY, 100, 2))],
    )
    assert run.place_after(2) == (2.0, 5.0)
    assert run.reports() == [
        Report("ACK", 100, 200, price=100, qty=4),
        Report("REPLACE_ACK", 1_100, 1_200, price=100, qty=2),
        # still 2 ahead: the next trade of 3 passes us by 1 lot
        Report("FILL", 2_000, 2_100, price=100, qty=1, liquidity=MAKER),
    ]


def test_replace_increasing_quantity_loses_priority() -> None:
    """A larger quantity at the same price sends the order to the back of its level."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 100, 3), trade(2, SELL, 100, 4)],
        [after(1, new(1, BUY, 100, 4)), after(2, replace(1, BUY, 100, 6))],
    )
    assert run.place_after(2) == (2.0, 5.0)  # 2 ahead before the replace
    assert run.place_after(3) == (1.0, 5.0)  # requeued behind the 5 shown, then 4 traded: no fill
    assert run.reports() == [
        Report("ACK", 100, 200, price=100, qty=4),
        Report("REPLACE_ACK", 1_100, 1_200, price=100, qty=6),
    ]


def test_replace_to_a_crossing_price_takes_then_rests_the_rest() -> None:
    """A limit moved onto the ask takes what is shown there (taker) and rests the remainder at its new price."""
    run = run_scenario(
        [level(0, BID, 100, 5), level(0, ASK, 101, 2), level(0, ASK, 102, 5)],
        [after(2, new(1, BUY, 100, 3)), at_time(0.2, replace(1, BUY, 101, 3))],
    )
    assert run.reports() == [
        ACK_BUY_100x3,
        Report("REPLACE_ACK", 300, 400, price=101, qty=3),
        Report("FILL", 300, 400, price=101, qty=2, liquidity=TAKER),
    ]
    assert run.venue.queue_place(1) == (0.0, 0.0)  # 1 lot rests at 101, where no bid is shown


@pytest.mark.parametrize("qty", [2, 1])
def test_replace_down_to_the_executed_quantity_ends_the_order(qty: int) -> None:
    """Replacing an order down to at or below what already executed leaves nothing working: it is done."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 100, 7), trade(2, SELL, 99, 1)],
        [after(1, new(1, BUY, 100, 4)), after(2, replace(1, BUY, 100, qty))],
    )
    assert run.reports() == [
        Report("ACK", 100, 200, price=100, qty=4),
        Report("FILL", 1_000, 1_100, price=100, qty=2, liquidity=MAKER),
        Report("REPLACE_ACK", 1_100, 1_200, price=100, qty=qty),
        # the trade through our price at 2 µs fills nothing: the order is gone
    ]
    assert run.venue.queue_place(1) is None
    assert run.core.execution.orders[1].cum == 2


def test_replace_of_an_order_already_filled_at_the_venue_is_rejected() -> None:
    """A replace that crosses the order's final fill on the wire gets REPLACE_REJECT (unknown order)."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 99, 1)],
        [after(2, replace(1, BUY, 100, 5)), after(1, new(1, BUY, 100, 3))],
    )
    assert run.reports() == [
        ACK_BUY_100x3,
        Report("FILL", 1_000, 1_100, price=100, qty=3, liquidity=MAKER),
        Report("REPLACE_REJECT", 1_100, 1_200, reason=VenueReason.UNKNOWN_ORDER),
    ]
    assert run.core.execution.orders[1].state == lifecycle.S_FILLED


def test_replace_or_cancel_of_an_unknown_order_is_rejected() -> None:
    """A replace (cancel) for a client order id the venue never saw gets REPLACE_REJECT (CANCEL_REJECT).

    The Core never sends such a request, so this one goes straight to the venue's boundary.
    """
    venue = SimulatedVenue(CORE, config())
    for command in (2, 3):
        venue.send(
            Event(
                kind=int(EventKind.DISPATCH),
                ts_exchange=us(command),
                ts_receive=us(command),
                instrument=1,
                client_order_id=9,
                command=command,
                side=BUY,
                price=100,
                qty=5,
            )
        )
    while (ts := venue.next_venue_ts()) is not None:
        assert ts in (us(2.1), us(3.1))
        venue.act()
    reports = []
    while venue.next_report_ts() is not None:
        reports.append(as_report(venue.pop_report()))
    assert reports == [
        Report("REPLACE_REJECT", 2_100, 2_200, reason=VenueReason.UNKNOWN_ORDER, coid=9),
        Report("CANCEL_REJECT", 3_100, 3_200, reason=VenueReason.UNKNOWN_ORDER, coid=9),
    ]


def test_post_only_replace_to_a_crossing_price_is_rejected() -> None:
    """Moving a post-only buy onto the ask would take: REPLACE_REJECT, and the order keeps its place."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 100, 2), trade(2, SELL, 100, 4)],
        [after(1, new(1, BUY, 100, 3, tif=POST_ONLY)), after(2, replace(1, BUY, 101, 3, tif=POST_ONLY))],
    )
    assert run.reports() == [
        ACK_BUY_100x3,
        Report("REPLACE_REJECT", 1_100, 1_200, reason=VenueReason.POST_ONLY_WOULD_TAKE),
        # still at 100 with 3 ahead: a trade of 4 passes it by 1 lot
        Report("FILL", 2_000, 2_100, price=100, qty=1, liquidity=MAKER),
    ]


# ----------------------------------------------------------------------------------------- cancel
def test_cancel_takes_the_order_out_of_the_queue() -> None:
    """CANCEL_ACK at the venue; trades afterwards, even through our price, fill nothing."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 99, 1), trade(2, SELL, 100, 9)],
        [after(1, new(1, BUY, 100, 3)), at_time(0.2, cancel(1))],
    )
    assert run.reports() == [ACK_BUY_100x3, Report("CANCEL_ACK", 300, 400)]
    assert run.venue.queue_place(1) is None
    assert run.core.execution.orders[1].state == lifecycle.S_CANCELED


def test_cancel_crossing_the_final_fill_is_rejected() -> None:
    """The order fills at the venue while our cancel is on its way: FILL, then CANCEL_REJECT."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 99, 1)],
        [after(1, new(1, BUY, 100, 3)), after(2, cancel(1))],
    )
    assert run.reports() == [
        ACK_BUY_100x3,
        Report("FILL", 1_000, 1_100, price=100, qty=3, liquidity=MAKER),
        Report("CANCEL_REJECT", 1_100, 1_200, reason=VenueReason.UNKNOWN_ORDER),
    ]
    assert run.core.execution.orders[1].state == lifecycle.S_FILLED


def test_partial_fills_then_cancel_keep_cum_and_leaves_right() -> None:
    """Two partial fills then a cancel: the lifecycle shows cum 3 of 5 working, then canceled with cum 3."""
    run = run_scenario(
        [level(0, BID, 100, 2), level(0, ASK, 101, 5), trade(1, SELL, 100, 3), trade(2, SELL, 100, 2)],
        [after(1, new(1, BUY, 100, 5)), after(3, cancel(1))],
    )
    assert run.reports() == [
        Report("ACK", 100, 200, price=100, qty=5),
        Report("FILL", 1_000, 1_100, price=100, qty=1, liquidity=MAKER),
        Report("FILL", 2_000, 2_100, price=100, qty=2, liquidity=MAKER),
        Report("CANCEL_ACK", 2_100, 2_200),
    ]
    working = run.order_after("FILL")
    assert working is not None
    assert (working.state, working.qty, working.cum, lifecycle.leaves(working)) == (
        lifecycle.S_PARTIALLY_FILLED,
        5,
        1,
        4,
    )
    done = run.core.execution.orders[1]
    assert (done.state, done.qty, done.cum, lifecycle.leaves(done)) == (lifecycle.S_CANCELED, 5, 3, 0)


# ---------------------------------------------------------------------------- liquidity consumption
def test_takers_in_a_row_share_one_displayed_level_until_the_feed_refreshes_it() -> None:
    """Two IOC buys against 3 shown lots get 2 and 1; after the feed sets the level again, 2 more fill."""
    run = run_scenario(
        [level(0, BID, 100, 5), level(0, ASK, 101, 3), level(1, ASK, 101, 3)],
        [
            after(1, new(1, BUY, 101, 2, tif=IOC), new(2, BUY, 101, 2, tif=IOC)),
            after(2, new(3, BUY, 101, 2, tif=IOC)),
        ],
        watch=(),
    )
    assert run.reports() == [
        Report("ACK", 100, 200, price=101, qty=2),
        Report("FILL", 100, 200, price=101, qty=2, liquidity=TAKER),
        Report("ACK", 100, 200, price=101, qty=2, coid=2),
        Report("FILL", 100, 200, price=101, qty=1, liquidity=TAKER, coid=2),
        Report("EXPIRED", 100, 200, coid=2),
        Report("ACK", 1_100, 1_200, price=101, qty=2, coid=3),
        Report("FILL", 1_100, 1_200, price=101, qty=2, liquidity=TAKER, coid=3),
    ]


# ------------------------------------------------------------------------------------------ fees
FEES_CORE = CoreConfig(
    version="venue-fees",
    instruments=(
        Instrument(id=1, symbol="X", tick_size="0.1", lot_size="1"),  # 10 cents per tick-lot
        Instrument(id=2, symbol="Y", tick_size="0.01", lot_size="10", multiplier=5),  # 50 cents
        Instrument(id=3, symbol="Z", tick_size="0.1", lot_size="1"),  # no fee schedule
    ),
)
FEES = (
    Fees(instrument=1, maker="-0.0001", taker="0.0005"),
    Fees(instrument=2, maker="0.0002", taker="0.001"),
)


def test_fees_per_instrument_in_minimal_currency_units() -> None:
    """Taker fee and maker rebate are rate x price*tick*qty*lot*multiplier, in cents, per instrument."""
    market = [
        level(0, BID, 1000, 10),
        level(0, ASK, 1001, 10),
        level(0, ASK, 251, 5, instrument=2),
        level(0, ASK, 1001, 10, instrument=3),
        trade(1, SELL, 999, 1),
    ]
    run = run_scenario(
        market,
        [
            after(
                3,
                new(1, BUY, 1001, 10, tif=IOC),  # taker: 1001 x 10 x 10c = 1001.00 -> 0.0005 = 50.05c
                new(2, BUY, 1000, 10),  # maker at 1000: 1000 x 10 x 10c = 1000.00 -> rebate 10c
                new(3, BUY, 251, 3, tif=IOC, instrument=2),  # 251 x 3 x 50c = 376.50 -> 0.001 = 37.65c
                new(4, BUY, 1001, 2, tif=IOC, instrument=3),  # no schedule: no fee
            )
        ],
        config(fees=FEES),
        watch=(),
        core_config=FEES_CORE,
    )
    assert run.reports() == [
        Report("ACK", 100, 200, price=1001, qty=10),
        Report("FILL", 100, 200, price=1001, qty=10, liquidity=TAKER, fee=50),
        Report("ACK", 100, 200, price=1000, qty=10, coid=2),
        Report("ACK", 100, 200, price=251, qty=3, coid=3),
        Report("FILL", 100, 200, price=251, qty=3, liquidity=TAKER, fee=38, coid=3),
        Report("ACK", 100, 200, price=1001, qty=2, coid=4),
        Report("FILL", 100, 200, price=1001, qty=2, liquidity=TAKER, fee=0, coid=4),
        Report("FILL", 1_000, 1_100, price=1000, qty=10, liquidity=MAKER, fee=-10, coid=2),
    ]


# ---------------------------------------------------------------------------- whole-fill mode
def test_whole_fill_mode_marketable_limit_fills_whole_at_the_best() -> None:
    """fills='whole': a marketable limit buy of 5 fills all 5 at the best ask, though only 2 are shown."""
    run = run_scenario(DEPTH, [after(3, new(1, BUY, 102, 5))], config(fills="whole"))
    assert run.reports() == [
        Report("ACK", 100, 200, price=102, qty=5),
        Report("FILL", 100, 200, price=101, qty=5, liquidity=TAKER),
    ]


def test_whole_fill_mode_resting_order_fills_whole_once_a_trade_passes_it() -> None:
    """fills='whole': a trade that only clears the queue ahead fills nothing; one more lot fills it all."""
    run = run_scenario(
        [*BOOK, trade(1, SELL, 100, 5), trade(2, SELL, 100, 1)],
        [after(1, new(1, BUY, 100, 3))],
        config(fills="whole"),
    )
    assert run.place_after(2) == (0.0, 5.0)
    assert run.reports() == [ACK_BUY_100x3, Report("FILL", 2_000, 2_100, price=100, qty=3, liquidity=MAKER)]


# ------------------------------------------------------------------------------------------ latency
def test_constant_latency_differs_per_request_type() -> None:
    """Entry and response latency for new, modify and cancel show in the ACK, REPLACE_ACK and CANCEL_ACK."""
    latency = LatencyConfig(
        entry_ns={"new": 100, "modify": 200, "cancel": 300},
        response_ns={"new": 10, "modify": 20, "cancel": 30},
    )
    run = run_scenario(
        [*BOOK, level(1, BID, 100, 5), level(2, BID, 100, 5)],
        [after(1, new(1, BUY, 100, 3)), after(2, replace(1, BUY, 100, 2)), after(3, cancel(1))],
        config(latency=latency),
    )
    assert run.reports() == [
        Report("ACK", 100, 110, price=100, qty=3),
        Report("REPLACE_ACK", 1_200, 1_220, price=100, qty=2),
        Report("CANCEL_ACK", 2_300, 2_330),
    ]


def test_empirical_latency_interpolates_between_recorded_samples(tmp_path: Path) -> None:
    """Latency from a CSV of (req_ts, exch_ts, resp_ts): linear between samples, the nearest outside them."""
    samples = tmp_path / "latency.csv"
    samples.write_text(
        "req_ts,exch_ts,resp_ts\n"
        f"{T0},{T0 + 100},{T0 + 200}\n"  # at 0: entry 100, response 100
        f"{T0 + 2_000},{T0 + 2_300},{T0 + 2_800}\n"  # at 2 µs: entry 300, response 500
    )
    run = run_scenario(
        [*BOOK, level(1, BID, 100, 5), level(3, BID, 100, 5)],
        [after(2, new(1, BUY, 100, 3)), after(3, cancel(1))],
        VenueConfig(latency=LatencyConfig(model="empirical", file=samples)),
    )
    assert run.reports() == [
        # sent at 1 µs: entry 100 + 200 * 1/2 = 200; answered at 1.2 µs: 100 + 400 * 1.2/2 = 340
        Report("ACK", 1_200, 1_540, price=100, qty=3),
        # sent at 3 µs, after the last sample: entry 300 and response 500 hold
        Report("CANCEL_ACK", 3_300, 3_800),
    ]


def _stochastic_times(seed: int) -> list[tuple[int, int]]:
    run = run_scenario(
        [*BOOK, level(1, BID, 100, 5)],
        [after(1, new(1, BUY, 100, 3)), after(2, cancel(1))],
        VenueConfig(
            latency=LatencyConfig(model="stochastic", floor_ns=1_000, median_ns=5_000, sigma=0.5), seed=seed
        ),
    )
    assert [r.kind for r in run.reports()] == ["ACK", "CANCEL_ACK"]
    return [(r.at, r.received) for r in run.reports()]


def test_seeded_latency_same_seed_same_times_other_seed_other_times() -> None:
    """Stochastic latency is a function of the seed: equal seeds give equal times, others differ."""
    first, again, other = _stochastic_times(7), _stochastic_times(7), _stochastic_times(8)
    assert first == again
    assert first != other
    (ack_at, ack_received), (cancel_at, _) = first
    assert ack_at >= 1_000 and ack_received - ack_at >= 1_000  # never below the floor
    assert cancel_at >= max(1_000, ack_received) + 1_000


def test_feed_latency_strategy_sees_at_receive_time_venue_acts_at_exchange_time() -> None:
    """The strategy sees market data at ts_receive; the venue acts at ts_exchange, so a fill can overtake it."""
    feed = 300
    run = run_scenario(
        [level(0, BID, 100, 5, feed), level(0, ASK, 101, 5, feed), trade(2, SELL, 99, 1, feed)],
        [after(1, new(1, BUY, 100, 3))],
    )
    assert [(EventKind(ev.kind).name, ev.ts_receive - T0) for ev in run.recorded] == [
        ("LEVEL_SET", 300),
        ("LEVEL_SET", 300),
        ("RISK_DECISION", 300),  # decided when the strategy received the book, not at 0
        ("DISPATCH", 300),
        ("ACK", 500),
        ("FILL", 2_100),  # the venue filled at 2 µs (exchange time) ...
        ("TRADE", 2_300),  # ... before we received the trade that filled it
    ]
    assert run.reports() == [
        Report("ACK", 400, 500, price=100, qty=3),
        Report("FILL", 2_000, 2_100, price=100, qty=3, liquidity=MAKER),
    ]


# ---------------------------------------------------------------------------------- determinism
def _run_once() -> tuple[list[Event], bytes]:
    recorded: list[Event] = []
    sends = [after(1, new(1, BUY, 100, 4), new(2, BUY, 101, 2, tif=IOC)), after(3, cancel(1))]
    core, _ = simulate(
        [*BOOK, trade(1, SELL, 100, 6), level(2, BID, 100, 3), trade(3, SELL, 100, 1)],
        CORE,
        VenueConfig(
            latency=LatencyConfig(model="stochastic", floor_ns=50, median_ns=200), queue_model="power", seed=3
        ),
        Script(sends),
        record=recorded.append,
    )
    return recorded, core.digest


def test_same_scenario_twice_gives_identical_events_and_digest() -> None:
    """Two runs of one scenario and Configuration record identical events and end on the same digest."""
    first, second = _run_once(), _run_once()
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert any(ev.kind == EventKind.FILL for ev in first[0])
