"""The strategy's queue estimate (QueueTracker) runs the venue's rules on what we receive.

With no feed latency and nothing happening while an order travels, the strategy knows exactly
what the venue knows, so its estimate must equal the venue's own place after every market event;
with feed latency it lags, never leads.
"""

from __future__ import annotations

import pytest
from _venue_scenarios import (
    ASK,
    BID,
    BUY,
    CORE,
    SELL,
    Script,
    _ProbedVenue,
    after,
    config,
    level,
    new,
    order_add,
    order_cancel,
    order_fill,
    trade,
)

from canonicalflow.events import Event
from canonicalflow.runtime import Sequencer
from canonicalflow.state import Core
from canonicalflow.venue import QueueTracker, Simulation


def _run(market: list[Event], sends: list, **venue_fields: object) -> tuple[list, list]:
    """(the tracker's estimate after each market event we received, the venue's place after each)."""
    venue_config = config(**venue_fields)
    venue = _ProbedVenue(CORE, venue_config, (1,))
    tracker = QueueTracker(CORE, venue_config)
    script = Script(sends)
    estimates: list = []

    def decide(core: Core, ev: Event, step: object) -> object:
        if ev.kind < 20:
            place = tracker.position(1)
            estimates.append(None if place is None else (place.ahead, place.level))
        return script(core, ev, step)

    def record(ev: Event) -> None:
        tracker.apply(ev)

    sequencer = Sequencer(Core(CORE), record, lambda core, intent: 0, decide, send=venue.send)
    Simulation(market, sequencer, venue).run()
    return estimates, [places[1] for places in venue.places]


@pytest.mark.parametrize("model", ["conservative", "power", "log2"])
def test_without_latency_the_estimate_is_the_venues_place(model: str) -> None:
    """Same rules, same inputs: the strategy's estimate equals the venue's truth at every step."""
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
