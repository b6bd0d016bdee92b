"""State's estimate of our queue places runs the venue's rules on what we receive.

The Core keeps each instrument's book with our resting orders' places on it (`core.market`), by
the rules of `CoreConfig.market`, which a backtest takes from the venue (`VenueConfig.book_model`).
With no feed latency and nothing happening while an order travels, the Core knows exactly what
the venue knows, so its estimate must equal the venue's own place after every market event;
with feed latency it lags, never leads.
"""

from __future__ import annotations

import pytest
from _venue_scenarios import (
    ASK,
    BID,
    BUY,
    CORE,
    INSTRUMENT,
    SELL,
    Script,
    _ProbedVenue,
    after,
    cancel,
    config,
    level,
    new,
    order_add,
    order_cancel,
    order_fill,
    replace,
    trade,
)

from canonicalflow.backtest._loop import Simulation
from canonicalflow.events import Event
from canonicalflow.queue import QueuePlace
from canonicalflow.runtime import Sequencer
from canonicalflow.state import Core, Reader


def _run(market: list[Event], sends: list, **venue_fields: object) -> tuple[list, list]:
    """(State's estimate after each market event we received, the venue's place after each)."""
    venue_config = config(**venue_fields)
    venue = _ProbedVenue(CORE, venue_config, (1,))
    core = Core(CORE.model_copy(update={"market": venue_config.book_model()}))  # as a backtest
    state = Reader(core)
    script = Script(sends)
    estimates: list[QueuePlace | None] = []

    def decide(core: Core, ev: Event, step: object) -> object:
        if ev.kind < 20:
            place = core.market.place(INSTRUMENT, 1)
            estimate = None if place is None else place.lots
            # every read of State gives the same place: the Reader's and our order's own
            assert state.place(1) == estimate
            order = state.order(1)
            assert (order.queue if order is not None else None) == estimate
            estimates.append(estimate)
        return script(core, ev, step)

    sequencer = Sequencer(core, lambda ev: None, lambda intent: 0, decide, send=venue.send)
    Simulation(market, sequencer, venue).run()
    return estimates, [places[1] for places in venue.places]


@pytest.mark.parametrize("model", ["conservative", "power", "log2"])
def test_without_latency_the_estimate_is_the_venues_place(model: str) -> None:
    """Same rules, same inputs: State's estimate equals the venue's truth at every step."""
    market = [
        level(0, BID, 100, 10),
        level(1, ASK, 101, 5),
        level(2, BID, 100, 30),
        trade(3, SELL, 100, 4),
        level(4, BID, 100, 12),
        level(5, BID, 100, 9),
        trade(6, SELL, 100, 2),
        level(7, BID, 100, 20),
        level(8, BID, 100, 3),
    ]
    estimates, truth = _run(market, [after(1, new(1, BUY, 100, 50))], queue_model=model)
    assert estimates[:2] == truth[:2] == [None, None]  # not resting before it is acknowledged
    assert truth[2] is not None and truth[-1] is not None
    assert estimates[2:] == truth[2:]


def test_l3_estimate_is_exact_fifo_like_the_venue() -> None:
    """On order-level data the estimate follows the same feed orders ahead as the venue."""
    market = [
        order_add(0, 11, BID, 100, 4),
        order_add(1, 12, BID, 100, 6),
        order_add(2, 13, ASK, 102, 5),
        order_add(3, 14, BID, 100, 7),
        order_cancel(4, 12, BID, 100, 6),
        order_fill(5, 11, BID, 100, 3),
        order_cancel(6, 14, BID, 100, 7),
    ]
    estimates, truth = _run(market, [after(2, new(1, BUY, 100, 2))], book="l3")
    assert truth[3:] == [(10.0, 17.0), (4.0, 11.0), (1.0, 8.0), (1.0, 1.0)]
    assert estimates[3:] == truth[3:]


def test_with_feed_latency_the_estimate_lags_the_venue() -> None:
    """We receive each change 500 ns after the venue acts on it: the estimate moves later, never earlier."""
    market = [
        level(0, BID, 100, 10, feed_ns=500),
        level(1, ASK, 101, 5, feed_ns=500),
        trade(3, SELL, 100, 4, feed_ns=500),
        level(4, BID, 100, 6, feed_ns=500),
    ]
    estimates, truth = _run(market, [after(1, new(1, BUY, 100, 5))])
    assert truth[2:] == [(6.0, 10.0), (6.0, 6.0)]
    assert estimates[2:] == truth[2:]  # after each event *as received*, the same rules reach the same place


def test_a_replace_and_a_cancel_move_the_estimate_as_they_move_the_venues_place() -> None:
    """A larger size loses priority, a new price joins the back of that level, a cancel leaves."""
    market = [
        level(0, BID, 100, 10),
        level(1, ASK, 101, 5),
        level(2, BID, 100, 14),  # 4 lots join behind us
        level(3, BID, 100, 12),  # 2 of them leave: the conservative model keeps us where we were
        level(4, BID, 99, 8),
        level(5, BID, 99, 6),
        level(6, BID, 100, 9),  # we are at 99 by now: nothing moves
        level(7, BID, 99, 3),
        level(8, BID, 99, 1),
    ]
    sends = [
        after(1, new(1, BUY, 100, 2)),
        after(3, replace(1, BUY, 100, 5)),  # larger: to the back of 100
        after(5, replace(1, BUY, 99, 5)),  # another price: the back of 99
        after(7, cancel(1)),
    ]
    estimates, truth = _run(market, sends)
    assert truth == [
        None,
        None,
        (10.0, 14.0),
        (10.0, 12.0),
        (12.0, 12.0),  # requeued behind all 12
        (12.0, 12.0),
        (6.0, 6.0),  # joined 99 behind its 6
        (3.0, 3.0),
        None,  # canceled: no place
    ]
    assert estimates == truth


def test_l3_a_larger_size_requeues_behind_the_feed_orders_there_and_stays_exact() -> None:
    """On order-level data a size-up goes to the back, behind each feed order at the level, and
    then moves exactly as those orders go, like the venue's place (a requeue that forgot which
    orders were ahead overstated the lots ahead from then on)."""
    market = [
        order_add(0, 11, BID, 100, 5),  # A
        order_add(1, 13, ASK, 102, 5),
        order_add(2, 12, BID, 100, 5),  # B, behind us
        order_add(3, 14, BID, 100, 5),  # C: we grew before it came, so it is behind us again
        order_cancel(4, 11, BID, 100, 5),  # A, ahead of us, goes
        order_cancel(5, 12, BID, 100, 5),  # B, ahead of us since the size-up, goes
    ]
    sends = [after(1, new(1, BUY, 100, 2)), after(2, replace(1, BUY, 100, 3))]
    estimates, truth = _run(market, sends, book="l3")
    assert truth[3:] == [(10.0, 15.0), (5.0, 10.0), (0.0, 5.0)]
    assert estimates[3:] == truth[3:]
