"""Helpers for tests, benchmarks and determinism checks: seeded synthetic streams, a scripted strategy."""

from canonicalflow.testing._l2 import L2_LEVELS, L2_LOT_SIZE, L2_TICK_SIZE, synthetic_l2
from canonicalflow.testing._store import store_table
from canonicalflow.testing._strategies import NoOp, Observer, Scripted, TouchMaker
from canonicalflow.testing._streams import synthetic_config, synthetic_stream

__all__ = [
    "L2_LEVELS",
    "L2_LOT_SIZE",
    "L2_TICK_SIZE",
    "NoOp",
    "Observer",
    "Scripted",
    "TouchMaker",
    "store_table",
    "synthetic_config",
    "synthetic_l2",
    "synthetic_stream",
]
