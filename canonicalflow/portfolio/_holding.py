"""A holding in integers: lots held, what they cost, what was realized, what was paid in fees.

Prices are ticks and quantities lots, so a trade's cash flow is an integer (tick-lots) and so is
everything here. The total is exact: realized - cost = the cash all trades paid or received, so
realized + (qty x mark - cost) - fees is the true PnL at any mark. Splitting it into realized and
unrealized follows the average cost: a reduction takes its share of the cost, floored to a whole
tick-lot, and the floor lands in `realized` (at most one tick-lot per closing trade).
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

__all__ = ["Holding", "trade"]


class Holding(NamedTuple):
    """What we hold of one instrument, from our fills: lots, their cost, realized PnL and fees."""

    qty: int = 0  # lots held: positive long, negative short
    cost: int = 0  # tick-lots the held lots cost (negative for a short)
    realized: int = 0  # tick-lots
    fees: int = 0  # minimal currency units paid; a rebate is negative
    volume: int = 0  # lots traded
    traded: int = 0  # tick-lots traded: the sum of |price| x lots
    fills: int = 0

    def unrealized(self, mark: int | Fraction) -> int | Fraction:
        """Tick-lots the held lots would gain if closed at `mark` (ticks)."""
        return self.qty * mark - self.cost


def trade(p: Holding, side: int, price: int, lots: int, fee: int, undo: bool = False) -> Holding:
    """`p` after buying (side 1) or selling (side -1) `lots` at `price`; `undo` takes a fill back (a bust).

    A bust reverses the fill's cash flow and fee exactly, as an opposite trade at the same price.
    """
    signed = side * lots * (-1 if undo else 1)
    qty, cost = p.qty + signed, p.cost
    if p.qty == 0 or (p.qty > 0) == (signed > 0):
        cost += signed * price  # opening or adding
    elif abs(signed) <= abs(p.qty):
        cost = cost * qty // p.qty  # reducing: the rest keeps its average cost
    else:
        cost = qty * price  # through flat: the remainder opens at this price
    # realized - cost moves by exactly the cash the trade paid
    realized = p.realized + (cost - p.cost) - signed * price
    step = -1 if undo else 1
    return Holding(
        qty=qty,
        cost=cost,
        realized=realized,
        fees=p.fees + step * fee,
        volume=p.volume + step * lots,
        traded=p.traded + step * abs(price) * lots,
        fills=p.fills + step,
    )
