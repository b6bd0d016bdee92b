"""The Core: State as a fold of the event stream and the Configuration, with a chained digest of every change."""

from canonicalflow.state._columnar import COLUMNAR_KINDS, apply_market_columns, foldable_runs
from canonicalflow.state._core import (
    FINAL_ORDER_STATES,
    RATE_LIMIT_WAKEUP,
    TIMER_WAKEUP,
    Control,
    Core,
    Obligation,
    Quote,
    StepResult,
    replay,
)
from canonicalflow.state._digest import GENESIS, chain
from canonicalflow.state._portfolio import Position

__all__ = [
    "COLUMNAR_KINDS",
    "FINAL_ORDER_STATES",
    "GENESIS",
    "RATE_LIMIT_WAKEUP",
    "TIMER_WAKEUP",
    "Control",
    "Core",
    "Obligation",
    "Position",
    "Quote",
    "StepResult",
    "apply_market_columns",
    "chain",
    "foldable_runs",
    "replay",
]
