"""Fold a run of market events into the Core column by column: the same State, the same digest.

A stretch of level sets, trades and tops of book changes only the market domain, and each of those
events makes exactly one change, known in advance: a level's new size, or an instrument's quote.
So a whole Arrow batch of them can be folded with array operations: the clock is a running
maximum, a level keeps the last size set in the batch, a quote takes its top of book from the
latest BBO and its last trade from the latest trade, and the digest records are built as one
int64 matrix whose rows are byte for byte what `Core.apply` writes for each event.
`tests/differential/test_columnar_lane.py` holds the two folds together.
"""

from __future__ import annotations

import numpy as np

from canonicalflow.book import last_of_each
from canonicalflow.errors import InvariantViolation
from canonicalflow.events import EventKind, Flag
from canonicalflow.state._core import Core, Quote
from canonicalflow.state._digest import MARKET_RECORD, MARKET_RECORD_KINDS, RECORD_TAG

__all__ = ["COLUMNAR_KINDS", "apply_market_columns", "foldable_runs"]

_LEVEL_SET, _TRADE, _BBO = int(EventKind.LEVEL_SET), int(EventKind.TRADE), int(EventKind.BBO)
COLUMNAR_KINDS = MARKET_RECORD_KINDS  # what folds in columns: the kinds with one binary record
_BAD_RECEIVE_TS = int(Flag.BAD_RECEIVE_TS)
_WORDS = MARKET_RECORD.size // 8


def foldable_runs(kind: np.ndarray, flags: np.ndarray) -> list[tuple[int, int, bool]]:
    """The rows cut into runs (start, end, foldable): foldable rows are the ones
    `apply_market_columns` takes, level sets, trades and tops of book whose receive time is not
    known to be bad (such a row leaves the clock where it is: one event at a time)."""
    foldable = np.isin(kind, COLUMNAR_KINDS) & (flags & _BAD_RECEIVE_TS == 0)
    cuts = (np.flatnonzero(foldable[1:] != foldable[:-1]) + 1).tolist()
    return [
        (start, end, bool(foldable[start])) for start, end in zip([0, *cuts], [*cuts, len(kind)], strict=True)
    ]


def apply_market_columns(core: Core, columns: dict[str, np.ndarray]) -> list[tuple[int, bytes]]:
    """Apply rows of LEVEL_SET, TRADE and BBO events (no BAD_RECEIVE_TS) given as int64 columns.

    `columns` holds position, kind, ts_receive, instrument, side, price, qty, bid_price, bid_qty,
    ask_price and ask_qty; positions must increase from the Core's. The caller picks the rows.
    Returns the digest blocks it closed: (the row after which `core.digest` became this, digest),
    so a caller can tell what `core.digest` was after each row, as `Core.apply` would have left it.
    """
    position = columns["position"]
    n = len(position)
    if n == 0:
        return []
    if position[0] <= core.position:
        raise InvariantViolation(
            int(position[0]),
            None,
            "positions_increase",
            f"position {core.position}",
            f"position {position[0]}",
        )
    kind, instrument = columns["kind"], columns["instrument"]
    now = np.maximum.accumulate(np.maximum(columns["ts_receive"], core.now))
    records = np.zeros((n, _WORDS), np.int64)
    records[:, 0], records[:, 1], records[:, 2] = RECORD_TAG, position, now
    records[:, 3], records[:, 4] = kind, instrument
    levels = kind == _LEVEL_SET
    if levels.any():
        _set_levels(core, columns, levels, records)
    quotes = kind != _LEVEL_SET
    if quotes.any():
        _set_quotes(core, columns, quotes, records)
    raw = records.astype("<i8", copy=False).tobytes()
    sealed = core.digest_market_records(position, raw) if core.digests else []
    core.position = int(position[-1])
    core.now = int(now[-1])
    return sealed


def _set_levels(core: Core, columns: dict[str, np.ndarray], rows: np.ndarray, records: np.ndarray) -> None:
    """Each level keeps the size its last row in the batch set; 0 removes it."""
    instrument, side, price, qty = (columns[name][rows] for name in ("instrument", "side", "price", "qty"))
    records[rows, 5], records[rows, 6], records[rows, 7] = side, price, qty
    last = last_of_each(instrument, side, price)
    book = core.levels
    for key_i, key_s, key_p, lots in zip(
        instrument[last].tolist(), side[last].tolist(), price[last].tolist(), qty[last].tolist(), strict=True
    ):
        if lots:
            book[(key_i, key_s, key_p)] = lots
        else:
            book.pop((key_i, key_s, key_p), None)


def _set_quotes(core: Core, columns: dict[str, np.ndarray], rows: np.ndarray, records: np.ndarray) -> None:
    """Per instrument: the top of book of its latest BBO and the last trade of its latest TRADE."""
    kind, instrument = columns["kind"], columns["instrument"]
    for key in np.unique(instrument[rows]).tolist():
        at = np.flatnonzero(rows & (instrument == key))
        start = core.quotes.get(key, Quote())
        index = np.arange(len(at))
        latest_bbo = np.maximum.accumulate(np.where(kind[at] == _BBO, index, -1))
        latest_trade = np.maximum.accumulate(np.where(kind[at] == _TRADE, index, -1))
        fields = []
        for latest, name, initial in (
            (latest_bbo, "bid_price", start.bid_price),
            (latest_bbo, "bid_qty", start.bid_qty),
            (latest_bbo, "ask_price", start.ask_price),
            (latest_bbo, "ask_qty", start.ask_qty),
            (latest_trade, "price", start.last_price),
            (latest_trade, "qty", start.last_qty),
        ):
            values = columns[name][at][np.maximum(latest, 0)]
            fields.append(np.where(latest >= 0, values, initial))
        records[at, 5:11] = np.column_stack(fields)
        core.quotes[key] = Quote(*(int(f[-1]) for f in fields))
