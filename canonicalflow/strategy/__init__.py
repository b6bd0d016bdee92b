"""Writing strategies: the hooks, the read-only view, and the actions a strategy returns."""

from canonicalflow.strategy._base import HOOKS, Cadence, Strategy
from canonicalflow.strategy._driver import StrategyDriver
from canonicalflow.strategy._intents import BUY, SELL, Action, Cancel, New, Replace
from canonicalflow.strategy._money import Money
from canonicalflow.strategy._orders import OrderRecord, OwnOrder, OwnOrders
from canonicalflow.strategy._view import BookView, View

__all__ = [
    "BUY",
    "HOOKS",
    "SELL",
    "Action",
    "BookView",
    "Cadence",
    "Cancel",
    "Money",
    "New",
    "OrderRecord",
    "OwnOrder",
    "OwnOrders",
    "Replace",
    "Strategy",
    "StrategyDriver",
    "View",
]
