"""One book, read four ways: the strategy's view, the Core's book, the StepResults, a rebuild.

The old design kept two books per instrument, and they disagreed: a snapshot-seeded L3 feed
followed by two order events left the Core showing 10 lots at a level while the strategy's view
showed 6. Now the book a strategy reads is the Core's digested book (`core.market.books[i]`), so
after every event here the view, that book, the last ("level", i, side, price, lots) change the
StepResults recorded, and an independent rebuild (the reference model of
`tests/property/test_core_book_rebuild.py`) must all say the same.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from canonicalflow.backtest._config import load_config
from canonicalflow.backtest._session import Session, core_config_of
from canonicalflow.config import BookModel, CoreConfig, Instrument
from canonicalflow.events import Event, EventKind, Flag
from canonicalflow.state import Core, StepResult
from canonicalflow.strategy import View

# the reference rebuild lives beside its property tests (tests/property has no __init__.py: pytest
# imports it by this same top-level name, so this is that one module, not a copy)
_PROPERTY = str(Path(__file__).resolve().parents[1] / "property")
if _PROPERTY not in sys.path:
    sys.path.insert(0, _PROPERTY)
from test_core_book_rebuild import RefMarket  # noqa: E402

K = EventKind
SNAP, LAST = int(Flag.SNAPSHOT), int(Flag.LAST_IN_PACKET)
BID, ASK = 1, -1
INSTRUMENT = 1  # the instrument
LEVEL = 100  # the bid level the snapshot shows 10 lots at
T0 = 1_700_000_000_000_000_000

# The venue's book as a snapshot: 10 lots at the bid level nobody's orders account for (they
# rested before the data began), a deeper bid, and two asks.
SNAPSHOT_ROWS = [
    dict(kind=K.LEVEL_SET, side=BID, price=LEVEL, qty=10, flags=SNAP),
    dict(kind=K.LEVEL_SET, side=BID, price=LEVEL - 1, qty=7, flags=SNAP),
    dict(kind=K.LEVEL_SET, side=ASK, price=LEVEL + 1, qty=5, flags=SNAP),
    dict(kind=K.LEVEL_SET, side=ASK, price=LEVEL + 2, qty=9, flags=SNAP | LAST),
]

# Two order events at the snapshot's level, and what the level shows after each.
PAIRS: dict[str, tuple[list[dict[str, Any]], list[int]]] = {
    # an order the book never saw cancels 4 lots: they come out of the unattributed 10
    "unattributed cancel, then add": (
        [
            dict(kind=K.ORDER_CANCEL, order_id=501, side=BID, price=LEVEL, qty=4, flags=LAST),
            dict(kind=K.ORDER_ADD, order_id=7, side=BID, price=LEVEL, qty=3, flags=LAST),
        ],
        [6, 9],
    ),
    # an unseen order executes 4 lots, then another unseen one 6: the level is gone
    "two unattributed fills empty the level": (
        [
            dict(kind=K.ORDER_FILL, order_id=502, side=BID, price=LEVEL, qty=4, trade_id=1, flags=LAST),
            dict(kind=K.ORDER_FILL, order_id=503, side=BID, price=LEVEL, qty=6, trade_id=2, flags=LAST),
        ],
        [6, 0],
    ),
    # a new order joins behind the unattributed lots, then executes partly
    "add, then fill of the known order": (
        [
            dict(kind=K.ORDER_ADD, order_id=8, side=BID, price=LEVEL, qty=2, flags=LAST),
            dict(kind=K.ORDER_FILL, order_id=8, side=BID, price=LEVEL, qty=1, trade_id=3, flags=LAST),
        ],
        [12, 11],
    ),
    # an unseen order asks for more than the snapshot left unattributed: refused, nothing moves
    "unattributed cancel too large is refused, a smaller one is not": (
        [
            dict(kind=K.ORDER_CANCEL, order_id=504, side=BID, price=LEVEL, qty=11, flags=LAST),
            dict(kind=K.ORDER_CANCEL, order_id=505, side=BID, price=LEVEL, qty=10, flags=LAST),
        ],
        [10, 0],
    ),
}


def _instrument() -> Instrument:
    return Instrument(id=INSTRUMENT, symbol="ONE", tick_size="0.01", lot_size="1")


def _events(orders: list[dict[str, Any]]) -> list[Event]:
    rows = SNAPSHOT_ROWS + orders
    return [
        Event(position=n, ts_exchange=T0 + n, ts_receive=T0 + n, instrument=INSTRUMENT, **row)
        for n, row in enumerate(rows, 1)
    ]


def _last_level_change(steps: list[StepResult], side: int, price: int) -> int | None:
    """The lots of the last ("level", INSTRUMENT, side, price, lots) change any step recorded."""
    found = None
    for step in steps:
        for change in step.changes:
            if change[:4] == ("level", INSTRUMENT, side, price):
                found = change[4]
            elif change == ("book_clear", INSTRUMENT):
                found = 0
    return found


def _agree(core: Core, view: View, ref: RefMarket, steps: list[StepResult]) -> None:
    """The view, the Core's book, the recorded changes and the rebuild say the same, everywhere."""
    book, queued, rebuilt = view.book(INSTRUMENT), core.market.books[INSTRUMENT], ref.books[INSTRUMENT]
    assert queued.book.to_data() == rebuilt.to_data()
    for side in (BID, ASK):
        levels = rebuilt.levels(side)
        assert list(queued.book.levels(side)) == levels
        assert book.levels(side, 10) == levels
        for price in range(LEVEL - 3, LEVEL + 4):
            lots = rebuilt.qty(side, price)
            assert book.qty_at(side, price) == lots == queued.qty_at(side, price), (side, price)
            recorded = _last_level_change(steps, side, price)
            if recorded is not None:
                assert recorded == lots, ("recorded", side, price)
    bids, asks = rebuilt.levels(BID), rebuilt.levels(ASK)
    assert book.best_bid() == (bids[0][0] if bids else None) == queued.best_price(BID)
    assert book.best_ask() == (asks[0][0] if asks else None) == queued.best_price(ASK)
    assert book.bid_qty() == (bids[0][1] if bids else 0)
    assert book.ask_qty() == (asks[0][1] if asks else 0)


@pytest.mark.parametrize("name", list(PAIRS))
def test_a_snapshot_seeded_l3_book_is_one_book(name: str) -> None:
    orders, shown = PAIRS[name]
    config = CoreConfig(version="one-book", instruments=(_instrument(),), market=BookModel(book="l3"))
    core = Core(config)
    view = View(core)
    ref = RefMarket(config)
    steps: list[StepResult] = []
    for ev in _events(orders):
        step = core.apply(ev)
        assert step.changes == ref.step(ev), ev
        steps.append(step)
        _agree(core, view, ref, steps)
    # the snapshot's level shows what the two order events left, read every way
    assert _last_level_change(steps[: len(SNAPSHOT_ROWS)], BID, LEVEL) == 10
    for k, lots in enumerate(shown):
        assert _last_level_change(steps[: len(SNAPSHOT_ROWS) + k + 1], BID, LEVEL) == lots
    assert (
        view.book(INSTRUMENT).qty_at(BID, LEVEL)
        == shown[-1]
        == core.market.books[INSTRUMENT].qty_at(BID, LEVEL)
    )


@pytest.mark.parametrize("name", list(PAIRS))
def test_the_same_through_a_backtest_session(name: str) -> None:
    """The Session's view is the Core's book too, with the Core built from `venue = {book = "l3"}`."""
    orders, shown = PAIRS[name]
    config = load_config(
        {
            "name": "one-book",
            "data": {"generator": {"events": 1}},
            "instruments": [{"id": INSTRUMENT, "symbol": "ONE", "tick_size": "0.01", "lot_size": "1"}],
            "strategy": {"class": "canonicalflow.testing:Scripted"},
            "venue": {"book": "l3"},
        }
    )
    sent: list[Event] = []
    session = Session(config, core_config_of(config, config.instruments), sent.append)
    core, view = session.core, session.view
    assert core.config.market.book == "l3"
    ref = RefMarket(core.config)
    steps: list[StepResult] = []
    for ev in _events(orders):
        step = session.sequencer.feed(ev)  # the sequencer assigns the position
        assert step.changes == ref.step(ev._replace(position=step.position)), ev
        steps.append(step)
        _agree(core, view, ref, steps)
    assert view.book(INSTRUMENT).qty_at(BID, LEVEL) == shown[-1]
    assert sent == []  # the scripted strategy did nothing
