"""Writing strategies: the hooks, the read-only view, and the actions a strategy returns."""

from canonicalflow.state import BookView, OwnOrder
from canonicalflow.strategy._base import HOOKS, Cadence, NoParams, Strategy
from canonicalflow.strategy._driver import StrategyDriver
from canonicalflow.strategy._intents import BUY, SELL, Action, Cancel, New, Replace
from canonicalflow.strategy._view import View

__all__ = [
    "BUY",
    "HOOKS",
    "SELL",
    "Action",
    "BookView",
    "Cadence",
    "Cancel",
    "New",
    "NoParams",
    "OwnOrder",
    "Replace",
    "Strategy",
    "StrategyDriver",
    "View",
]
