"""Queue places at the simulated venue: the L2 queue models, a user's own model, exact L3 FIFO.

The L2 expectations are computed here, independently, from hftbacktest's formulas as written in
/work/shared/reference/peers.md §2.1 (F = lots ahead, prev/new = the level before/after):

* risk-averse (our `conservative`): a trade takes F -= q; a depth change gives F = min(F, new);
* probabilistic: chg = prev - new - (lots traded since the last change); if chg < 0, F = min(F, new);
  else back = prev - F, p = P(F, back), F = min(F - (1 - p) chg + min(back - p chg, 0), new).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from _venue_scenarios import (
    ASK,
    BID,
    BUY,
    MAKER,
    SELL,
    Report,
    after,
    config,
    level,
    new,
    order_add,
    order_cancel,
    order_fill,
    order_modify,
    run_scenario,
    trade,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canonicalflow.errors import InvariantViolation
from canonicalflow.events import Event
from canonicalflow.queue import QUEUE_MODELS, RestingQueues

N = 3.0  # VenueConfig.queue_exponent's default: the power models' n

PROBABILITY: dict[str, Callable[[float, float], float]] = {
    "power": lambda front, back: back**N / (back**N + front**N),
    "power2": lambda front, back: back**N / (back + front) ** N,
    "power3": lambda front, back: 1 - (front / (front + back)) ** N,
    "log": lambda front, back: math.log(1 + back) / (math.log(1 + back) + math.log(1 + front)),
    "log2": lambda front, back: math.log(1 + back) / math.log(1 + back + front),
}


def expected_ahead(model: str, ahead: float, prev: float, new: float, traded: float) -> float:
    """F after a depth change prev -> new, per peers.md §2.1 (hftbacktest's queue.rs)."""
    if model == "conservative":
        return min(ahead, new)
    chg = prev - new - traded
    if chg < 0:
        return min(ahead, new)
    back = prev - ahead
    p = PROBABILITY[model](ahead, back)
    # hftbacktest lets F go below 0 here; a queue place cannot (0 <= ahead), so it stops at the front
    return max(0.0, min(ahead - (1 - p) * chg + min(back - p * chg, 0), new))


# Our buy of 1 lot at 100 joins behind the 10 lots shown; then, at our price only:
# 4 lots join behind us, 3 are canceled, 2 trade, the book drops the 2 traded, 4 more are canceled,
# and finally the level falls to 2 (below where a conservative estimate has us).
BOOK = [level(0, BID, 100, 10), level(0, ASK, 102, 5)]
CHANGES: list[tuple[str, int]] = [
    ("level", 14),
    ("level", 11),
    ("trade", 2),
    ("level", 9),
    ("level", 5),
    ("level", 2),
]


def _market(changes: list[tuple[str, int]], price: int = 100) -> list[Event]:
    return BOOK + [
        level(t, BID, price, qty) if what == "level" else trade(t, SELL, price, qty)
        for t, (what, qty) in enumerate(changes, 1)
    ]


@pytest.mark.parametrize("model", QUEUE_MODELS)
def test_queue_model_moves_the_place_as_its_formula_says(model: str) -> None:
    """Each model's place after cancels, growth and trades at our price follows hftbacktest's formula."""
    run = run_scenario(_market(CHANGES), [after(1, new(1, BUY, 100, 1))], config(queue_model=model))
    ahead, shown, traded = 10.0, 10.0, 0.0
    assert run.place_after(1) is None  # the order reaches the venue 100 ns after the book
    for index, (what, qty) in enumerate(CHANGES, 2):
        if what == "trade":
            ahead, traded = max(ahead - qty, 0.0), traded + qty
        else:
            ahead, shown, traded = expected_ahead(model, ahead, shown, qty, traded), qty, 0.0
        place = run.place_after(index)
        assert place is not None
        assert place == (pytest.approx(ahead, abs=1e-5), shown), f"after {what} {qty}"
    assert run.reports() == [Report("ACK", 100, 200, price=100, qty=1)]


def test_conservative_queue_advances_on_cancels_only_below_the_place() -> None:
    """Conservative: cancels come from behind us; only the level shrinking below our place moves us."""
    run = run_scenario(_market(CHANGES), [after(1, new(1, BUY, 100, 1))], config(queue_model="conservative"))
    assert [run.place_after(i) for i in range(2, 8)] == [
        (10.0, 14.0),  # 4 joined behind us
        (10.0, 11.0),  # 3 canceled: from the back, we stay
        (8.0, 11.0),  # a trade of 2 took 2 ahead of us
        (8.0, 9.0),  # the book drops the 2 traded: nothing new
        (5.0, 5.0),  # the level fell below our place
        (2.0, 2.0),
    ]


# ------------------------------------------------------------------------- property: any model
_CHANGE = st.one_of(
    st.tuples(st.just("level"), st.integers(0, 30)),
    st.tuples(st.just("trade"), st.integers(1, 12)),
)


@pytest.mark.parametrize("model", QUEUE_MODELS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 20), changes=st.lists(_CHANGE, max_size=14))
def test_queue_model_never_breaks_the_kernel_and_never_moves_back(
    model: str, start: int, changes: list[tuple[str, int]]
) -> None:
    """Any level changes and trades at our price: 0 <= ahead <= level always, and ahead never grows."""
    market = [level(0, BID, 100, start), level(0, ASK, 102, 5)] + [
        level(t, BID, 100, qty) if what == "level" else trade(t, SELL, 100, qty)
        for t, (what, qty) in enumerate(changes, 1)
    ]
    run = run_scenario(market, [after(1, new(1, BUY, 100, 1_000))], config(queue_model=model))
    last = math.inf
    for index in range(2, len(market)):
        place = run.place_after(index)
        if place is None:
            break  # filled in full
        ahead, shown = place
        assert 0 <= ahead <= shown
        assert ahead <= last
        last = ahead


# ------------------------------------------------------------------------------ a user's model
class Greedy:
    """A user's model that claims one lot more left from ahead of us than was there."""

    name = "greedy"

    def advance(self, ahead: int, prev: int, new: int, traded: int) -> int:
        return ahead + 1_000_000


def test_user_model_claiming_more_than_was_ahead_is_refused_by_the_kernel() -> None:
    """A model that advances an order past what was ahead: InvariantViolation naming the kernel's rule."""
    queues = RestingQueues(Greedy())
    queues.join(1, BID, 100, 10)
    with pytest.raises(InvariantViolation) as refused:
        queues.level_changed(BID, 100, 8)
    assert refused.value.invariant == "queue_place.advance_beyond_ahead"
    assert "greedy" in str(refused.value)
    assert queues.places[1].lots.ahead == 10  # refused, never applied


def test_user_model_in_the_venue_is_refused_when_it_overreaches() -> None:
    """The same refusal stops a backtest whose venue runs the user's model."""
    venue_config = config(queue_model=f"{__name__}:Greedy")  # plugged in by name, as a backtest file would
    with pytest.raises(InvariantViolation, match=r"queue_place\.advance_beyond_ahead"):
        run_scenario(_market([("level", 8)]), [after(1, new(1, BUY, 100, 1))], venue_config)


# ---------------------------------------------------------------------------------------- L3
# Feed orders A (3 lots) and B (2 lots) bid at 100; our buy of 4 joins behind them; C (4 lots)
# joins behind us. Our place after that: 5 ahead, 9 shown.
A, B, C = 11, 12, 13
L3_BOOK = [
    order_add(0, A, BID, 100, 3),
    order_add(0, B, BID, 100, 2),
    order_add(0, 21, ASK, 102, 5),
    order_add(1, C, BID, 100, 4),
]
L3_SENDS = [after(2, new(1, BUY, 100, 4))]
L3 = config(book="l3")
ACK = Report("ACK", 100, 200, price=100, qty=4)


def test_l3_our_order_queues_behind_the_orders_shown() -> None:
    """L3: a new order's place is exactly the lots of the feed orders before it at its price."""
    run = run_scenario(L3_BOOK, L3_SENDS, L3)
    assert run.place_after(3) == (5.0, 9.0)
    assert run.reports() == [ACK]


def test_l3_cancel_behind_us_does_not_move_us() -> None:
    """L3: C, behind us, canceled: the level shrinks, our place does not."""
    run = run_scenario([*L3_BOOK, order_cancel(2, C, BID, 100, 4)], L3_SENDS, L3)
    assert run.place_after(4) == (5.0, 5.0)


def test_l3_cancel_ahead_moves_us_by_its_lots() -> None:
    """L3: A, ahead of us, canceled: we move forward by exactly A's 3 lots."""
    run = run_scenario([*L3_BOOK, order_cancel(2, A, BID, 100, 3)], L3_SENDS, L3)
    assert run.place_after(4) == (2.0, 6.0)


def test_l3_fill_of_an_order_behind_us_fills_us() -> None:
    """L3: A and B execute (we move up, unfilled); then C, behind us, executes: we went first."""
    run = run_scenario(
        [
            *L3_BOOK,
            order_fill(2, A, BID, 100, 3),
            order_fill(3, B, BID, 100, 2),
            order_fill(4, C, BID, 100, 2),
        ],
        L3_SENDS,
        L3,
    )
    assert run.place_after(4) == (2.0, 6.0)
    assert run.place_after(5) == (0.0, 4.0)
    assert run.reports() == [ACK, Report("FILL", 4_000, 4_100, price=100, qty=2, liquidity=MAKER)]
    assert run.place_after(6) == (0.0, 2.0)  # 2 of ours still rest, at the front


def test_l3_modify_keeping_priority_moves_us_by_the_lots_shed() -> None:
    """L3: A reduced from 3 to 1 lot keeps its place; we move forward by the 2 lots it shed."""
    run = run_scenario([*L3_BOOK, order_modify(2, A, BID, 100, 1)], L3_SENDS, L3)
    assert run.place_after(4) == (3.0, 7.0)


def test_l3_modify_losing_priority_moves_us_past_that_order() -> None:
    """L3: A increased from 3 to 5 lots goes to the back: it is no longer ahead of us."""
    run = run_scenario([*L3_BOOK, order_modify(2, A, BID, 100, 5)], L3_SENDS, L3)
    assert run.place_after(4) == (2.0, 11.0)


def test_l3_after_a_level_snapshot_known_orders_still_move_us_and_unknown_lots_leave_from_the_back() -> None:
    """L3: a snapshot turns the level's orders into unattributed lots; their cancels by id still place exactly.

    A, ahead of us, is canceled by id after the snapshot: we move by its 3 lots. C, behind us,
    goes: the level shrinks, we stay. B goes: we are at the front of an empty level.
    """
    snapshot = level(2, BID, 100, 9)._replace(flags=3)  # SNAPSHOT | LAST_IN_PACKET
    run = run_scenario(
        [
            *L3_BOOK,
            snapshot,
            order_cancel(3, A, BID, 100, 3),
            order_cancel(4, C, BID, 100, 4),
            order_cancel(5, B, BID, 100, 2),
        ],
        L3_SENDS,
        L3,
    )
    assert [run.place_after(i) for i in range(4, 8)] == [(5.0, 9.0), (2.0, 6.0), (2.0, 2.0), (0.0, 0.0)]
