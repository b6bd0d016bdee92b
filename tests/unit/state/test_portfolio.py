"""The position arithmetic against a second implementation: exact rationals, average cost."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from canonicalflow.portfolio import Holding, trade

trades = st.lists(
    st.tuples(st.sampled_from((1, -1)), st.integers(-50, 500), st.integers(1, 40), st.integers(-3, 9)),
    max_size=60,
)


def _average_cost(fills: list[tuple[int, int, int, int]]) -> tuple[int, Fraction, Fraction]:
    """Holding, average cost (a rational) and realized PnL, computed the textbook way."""
    qty, avg, realized = 0, Fraction(0), Fraction(0)
    for side, price, lots, _ in fills:
        signed = side * lots
        if qty == 0 or (qty > 0) == (signed > 0):
            avg = (avg * qty + price * signed) / (qty + signed)
        else:
            closed = min(abs(signed), abs(qty))
            realized += closed * (price - avg) * (1 if qty > 0 else -1)
            if abs(signed) > abs(qty):
                avg = Fraction(price)
        qty += signed
        if qty == 0:
            avg = Fraction(0)
    return qty, avg, realized


@given(trades, st.integers(-50, 500))
def test_total_pnl_is_exact_and_the_split_follows_the_average_cost(fills, mark) -> None:
    p = Holding()
    for side, price, lots, fee in fills:
        p = trade(p, side, price, lots, fee)
    qty, avg, realized = _average_cost(fills)
    cash = -sum(side * price * lots for side, price, lots, _ in fills)
    assert p.qty == qty
    assert p.realized + p.unrealized(mark) == cash + qty * mark  # the total, to the tick-lot
    closing_trades = len(fills)
    assert abs(p.realized - realized) <= closing_trades  # each reduction floors at most one tick-lot
    assert abs(p.cost - avg * qty) <= closing_trades
    assert p.fees == sum(f[3] for f in fills) and p.fills == len(fills)
    assert p.volume == sum(f[2] for f in fills)


@given(
    trades, st.tuples(st.sampled_from((1, -1)), st.integers(1, 500), st.integers(1, 40), st.integers(0, 9))
)
def test_a_bust_takes_a_fill_back_exactly(fills, busted) -> None:
    p = Holding()
    for side, price, lots, fee in fills:
        p = trade(p, side, price, lots, fee)
    after = trade(trade(p, *busted), *busted, undo=True)
    assert (after.qty, after.fees, after.volume, after.traded, after.fills) == (
        p.qty,
        p.fees,
        p.volume,
        p.traded,
        p.fills,
    )
    assert after.realized - after.cost == p.realized - p.cost  # the same cash: the same PnL at any mark


def test_a_round_trip_realizes_the_spread() -> None:
    p = trade(trade(Holding(), 1, 100, 10, 2), -1, 103, 10, 2)
    assert p == Holding(qty=0, cost=0, realized=30, fees=4, volume=20, traded=2030, fills=2)


def test_a_short_reduced_keeps_its_average_and_a_flip_opens_at_the_trade_price() -> None:
    p = trade(Holding(), -1, 200, 4, 0)
    p = trade(p, 1, 190, 1, 0)
    assert (p.qty, p.cost, p.realized) == (-3, -600, 10)
    p = trade(p, 1, 210, 5, 0)
    assert (p.qty, p.cost, p.realized) == (2, 420, -20)
