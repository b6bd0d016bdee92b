"""From the engine's integers (ticks, lots, minimal currency units) to prices and currency.

Exact: every conversion is a Fraction of the instrument's decimal sizes; floats appear only in
what is shown (tables and plots).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from canonicalflow.config import CoreConfig
from canonicalflow.portfolio._holding import Holding

__all__ = ["Money", "round_price"]

_ZERO = Fraction(0)


def round_price(side: int, price: int, step: int) -> int:
    """`price` onto a grid of `step` ticks, away from the market: a buy down, a sell up. Risk
    normalises with it and a strategy's `View.round_price` calls it, so both round alike."""
    return price - price % step if side == 1 else -((-price) // step * step)


class Money:
    def __init__(self, config: CoreConfig) -> None:
        self._tick: dict[int, Fraction] = {i.id: Fraction(Decimal(i.tick_size)) for i in config.instruments}
        self._lot: dict[int, Fraction] = {i.id: Fraction(Decimal(i.lot_size)) for i in config.instruments}
        self._unit: dict[int, Fraction] = {
            i.id: self._tick[i.id] * self._lot[i.id] * i.multiplier for i in config.instruments
        }
        self._fee_unit: dict[int, Fraction] = {
            i.id: Fraction(1, 10**i.currency_decimals) for i in config.instruments
        }

    def price(self, instrument: int, ticks: int | Fraction) -> Fraction:
        return ticks * self._tick[instrument]

    def price_float(self, instrument: int, ticks: int | Fraction) -> float:
        """`float(self.price(instrument, ticks))`, without making the Fraction: both round the same
        rational number once (Python's int / int is correctly rounded), so they are equal."""
        tick = self._tick[instrument]
        if isinstance(ticks, int):
            return ticks * tick.numerator / tick.denominator
        return ticks.numerator * tick.numerator / (ticks.denominator * tick.denominator)

    def qty(self, instrument: int, lots: int) -> Fraction:
        return lots * self._lot[instrument]

    def notional(self, instrument: int, ticks: int | Fraction, lots: int) -> Fraction:
        """Currency value of `lots` at `ticks`, unsigned."""
        return (ticks if ticks >= 0 else -ticks) * lots * self._unit[instrument]

    def tick_lots(self, instrument: int, amount: int | Fraction) -> Fraction:
        """Currency value of an amount in tick-lots (the unit of a holding's cost and PnL)."""
        return amount * self._unit[instrument]

    def fees(self, instrument: int, units: int) -> Fraction:
        return units * self._fee_unit[instrument]

    def pnl(
        self, instrument: int, p: Holding, mark: int | Fraction | None
    ) -> tuple[Fraction, Fraction | None, Fraction]:
        """(realized, unrealized at `mark`, fees) in currency; unrealized is 0 when flat, None when
        lots are held and there is no mark: an unknown, never a zero."""
        if p.qty == 0:
            if not p.realized and not p.fees:
                return _ZERO, _ZERO, _ZERO  # never traded, or back to nothing: no arithmetic needed
            unrealized: Fraction | None = _ZERO
        else:
            unrealized = None if mark is None else self.tick_lots(instrument, p.unrealized(mark))
        return self.tick_lots(instrument, p.realized), unrealized, self.fees(instrument, p.fees)
