"""`Money`: its float shortcuts equal the exact Fractions they stand for."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.portfolio import Holding, Money

ticks = st.sampled_from(["0.01", "0.1", "1", "0.0001", "0.25", "0.00000001", "5"])
prices = st.one_of(
    st.integers(-(10**15), 10**15),
    st.builds(Fraction, st.integers(-(10**15), 10**15), st.integers(1, 10**6)),
)


def _money(tick: str) -> Money:
    return Money(
        CoreConfig(version="t", instruments=(Instrument(id=1, symbol="X", tick_size=tick, lot_size="1"),))
    )


@given(ticks, prices)
def test_a_price_as_a_float_is_the_exact_price_rounded_once(tick: str, price: int | Fraction) -> None:
    money = _money(tick)
    assert money.price_float(1, price) == float(money.price(1, price))


@given(ticks, st.integers(-(10**9), 10**9), st.integers(-(10**6), 10**6), st.sampled_from([None, 0, 101]))
def test_pnl_of_a_flat_position_is_realized_less_fees(
    tick: str, realized: int, fees: int, mark: int | None
) -> None:
    money = _money(tick)
    flat = Holding(realized=realized, fees=fees)
    assert money.pnl(1, flat, mark) == (money.tick_lots(1, realized), Fraction(0), money.fees(1, fees))
