"""Folding a batch of level sets at once: each level ends at the size its last row set."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from canonicalflow.events import EventKind

__all__ = ["last_of_each", "levels_by_instrument", "runs"]

_LEVEL_SET = int(EventKind.LEVEL_SET)
_DENSE_SPAN = 4  # a dense key may span this many times the rows: a table of -1s costs less than a sort
_SPAN = 1 << 20  # a side and an instrument fit below this many keys apart, when prices are small


def last_of_each(*keys: np.ndarray) -> np.ndarray:
    """Row indices of the last row of each distinct key (the key columns taken together)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, np.int64)
    dense = _dense(keys, n)
    if dense is not None:  # keys packed into a small range: no sort at all
        last = np.full(int(dense.max()) + 1, -1, np.int64)
        np.maximum.at(last, dense, np.arange(n))
        return last[last >= 0]
    packed = _packed(keys)
    if packed is not None:  # one int64 key: a single sort instead of a sort per column
        _, first = np.unique(packed[::-1], return_index=True)
        return n - 1 - first
    backwards = [key[::-1] for key in keys]
    order = np.lexsort(backwards[::-1])  # stable, first key first: a key's last row leads its run
    runs = np.zeros(n, bool)
    for key in backwards:
        ordered = key[order]
        runs[1:] |= ordered[1:] != ordered[:-1]
    runs[0] = True
    return n - 1 - order[runs]


def _dense(keys: tuple[np.ndarray, ...], n: int) -> np.ndarray | None:
    """The key columns as one int64 per row in [0, span), ordered as `_packed` orders them, when
    the span is within a few times the row count (a batch's levels lie near the touch); else None."""
    *small, last = (np.asarray(key, np.int64) for key in keys)
    packed = last - int(last.min())
    span = int(packed.max()) + 1
    for key in small:
        low = int(key.min())
        width = int(key.max()) - low + 1
        span *= width
        if span > _DENSE_SPAN * max(n, 1024):
            return None
        packed = packed * width + (key - low)
    return packed if span <= _DENSE_SPAN * max(n, 1024) else None


def _packed(keys: tuple[np.ndarray, ...]) -> np.ndarray | None:
    """The key columns as one int64 per row, when every column but the last is small and the last
    leaves room for them (prices in ticks below 2**40 or so); None when they do not fit."""
    *small, last = (np.asarray(key, np.int64) for key in keys)
    low, high = int(last.min()), int(last.max())
    if any(int(k.min()) <= -_SPAN // 2 or int(k.max()) >= _SPAN // 2 for k in small):
        return None
    if high - low >= 1 << (62 - 20 * len(small)):
        return None
    packed = last - low
    for key in small:
        packed = packed * _SPAN + (key + _SPAN // 2)
    return packed


def levels_by_instrument(
    columns: Mapping[str, np.ndarray],
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """A batch's level sets per instrument, in stream order: (instrument, side, price, qty, flags),
    what a book folds. Other rows move no level."""
    levels = columns["kind"] == _LEVEL_SET
    if not levels.any():
        return
    instrument, side, price, qty, flags = (
        columns[name][levels] for name in ("instrument", "side", "price", "qty", "flags")
    )
    for key in np.unique(instrument).tolist():
        mine = instrument == key
        yield key, side[mine], price[mine], qty[mine], flags[mine]


def runs(mask: np.ndarray) -> list[tuple[int, int, bool]]:
    """`mask` cut into runs of equal values: (start, end, value), in row order. What a bulk fold
    takes at once (True) and what goes one event at a time (False)."""
    if not len(mask):
        return []
    cuts = (np.flatnonzero(mask[1:] != mask[:-1]) + 1).tolist()
    return [(s, e, bool(mask[s])) for s, e in zip([0, *cuts], [*cuts, len(mask)], strict=True)]
