"""Order books: order-level (L3) and price-level (L2), in ticks and lots, with their projections."""

from canonicalflow.book._apply import BookFinding, apply_l2, apply_l3, replay_books
from canonicalflow.book._bulk import last_of_each, levels_by_instrument, runs
from canonicalflow.book._l2 import L2Book
from canonicalflow.book._l3 import ASK, BID, L3Book, Level

__all__ = [
    "ASK",
    "BID",
    "BookFinding",
    "L2Book",
    "L3Book",
    "Level",
    "apply_l2",
    "apply_l3",
    "last_of_each",
    "levels_by_instrument",
    "replay_books",
    "runs",
]
