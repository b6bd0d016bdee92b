"""What we hold: lots, cost, realized PnL and fees per instrument in integers, and their value in currency."""

from canonicalflow.portfolio._holding import Holding, trade
from canonicalflow.portfolio._money import Money, round_price

__all__ = ["Holding", "Money", "round_price", "trade"]
