"""A seeded L2 (market-by-price) stream: the peers' benchmark workload, and a test stream.

20 levels a side around a random-walk mid, never crossed, one event every 100 µs, received 1 ms
after the venue sent it (shared/reference/peers.md §3). About 81 % of events change a level's
size; the rest move the book one tick, as a delete and an add on each side. Prices are ticks of
0.01 around 50,000 and sizes lots of 0.001, as on a BTCUSDT book.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa

from canonicalflow.events import EVENT_SCHEMA, EventKind, Flag

__all__ = ["L2_LEVELS", "L2_LOT_SIZE", "L2_TICK_SIZE", "synthetic_l2"]

L2_LEVELS = 20  # per side
L2_TICK_SIZE = "0.01"
L2_LOT_SIZE = "0.001"
_START_TS = 1_700_000_000_000_000_000
_SPACING_NS = 100_000
_FEED_LATENCY_NS = 1_000_000
_MID_TICKS = 5_000_000  # 50,000.00
# A move is four events, so draws move the book at the rate that makes 19 % of events moves.
_MOVE_DRAWS = 0.19 / (4 - 3 * 0.19)


def _level_sets(n: int, seed: int) -> tuple[list[int], list[int], list[int]]:
    """(side, price, lots) of `n` level updates: a 40-level snapshot, then updates and one-tick moves."""
    rng = random.Random(seed)
    best_bid = _MID_TICKS - 1  # the ask is two ticks above: best_bid + 2
    sides: list[int] = []
    prices: list[int] = []
    lots: list[int] = []

    def put(side: int, price: int, qty: int) -> None:
        sides.append(side)
        prices.append(price)
        lots.append(qty)

    for k in range(L2_LEVELS):
        put(1, best_bid - k, rng.randint(1, 500))
        put(-1, best_bid + 2 + k, rng.randint(1, 500))
    while len(sides) < n:
        if rng.random() >= _MOVE_DRAWS:
            k = rng.randrange(L2_LEVELS)
            if rng.random() < 0.5:
                put(1, best_bid - k, rng.randint(1, 500))
            else:
                put(-1, best_bid + 2 + k, rng.randint(1, 500))
        elif rng.random() < 0.5:  # up one tick: the best ask goes first, so the book never crosses
            put(-1, best_bid + 2, 0)
            put(-1, best_bid + 2 + L2_LEVELS, rng.randint(1, 500))
            put(1, best_bid + 1, rng.randint(1, 500))
            put(1, best_bid - L2_LEVELS + 1, 0)
            best_bid += 1
        else:  # down one tick: the best bid goes first
            put(1, best_bid, 0)
            put(1, best_bid - L2_LEVELS, rng.randint(1, 500))
            put(-1, best_bid + 1, rng.randint(1, 500))
            put(-1, best_bid + 1 + L2_LEVELS, 0)
            best_bid -= 1
    return sides[:n], prices[:n], lots[:n]


def synthetic_l2(n: int, seed: int = 1, instrument: int = 1) -> pa.Table:
    """`n` LEVEL_SET events in the canonical schema, positions 1..n."""
    sides, prices, lots = _level_sets(n, seed)
    index = np.arange(n, dtype=np.int64)
    ts_exchange = _START_TS + index * _SPACING_NS
    columns = {
        "position": index + 1,
        "kind": np.full(n, int(EventKind.LEVEL_SET), np.int16),
        "ts_exchange": ts_exchange,
        "ts_receive": ts_exchange + _FEED_LATENCY_NS,
        "instrument": np.full(n, instrument, np.int64),
        "flags": np.full(n, int(Flag.LAST_IN_PACKET), np.int8),
        "sequence": index + 1,
        "side": np.array(sides, np.int8),
        "price": np.array(prices, np.int64),
        "qty": np.array(lots, np.int64),
    }
    arrays = [
        pa.array(columns[f.name] if f.name in columns else np.zeros(n, f.type.to_pandas_dtype()), f.type)
        for f in EVENT_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)
