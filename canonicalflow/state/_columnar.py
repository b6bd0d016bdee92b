"""Fold a run of market events into the Core column by column: the same State, the same digest.

While none of our orders rests on a book, a level set, trade or top of book changes only the
market domain, and each of those events makes exactly one change, known in advance: a level's
new size, or an instrument's quote. So a whole Arrow batch of them can be folded with array
operations: the clock is a running maximum, each price-level book takes its level sets through
`QueuedBook.set_levels` (each level ends at the size its last row set), a quote takes its top of
book from the latest BBO and its last trade from the latest trade, and the digest records are
built as one int64 matrix whose rows are byte for byte what `Core.apply` writes for each event.

Twin of `Core.apply` for these kinds (`canonicalflow.state._market`'s handlers);
`tests/differential/test_columnar_lane.py` and the twin tests hold the two folds together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from canonicalflow.book import ASK, BID
from canonicalflow.errors import InvariantViolation
from canonicalflow.events import Event, EventKind, Flag
from canonicalflow.state._digest import MARKET_RECORD, RECORD_TAG
from canonicalflow.state._market import Quote

if TYPE_CHECKING:
    from canonicalflow.state._core import Core

__all__ = ["apply_market_columns", "foldable_rows"]

_LEVEL_SET, _TRADE, _BBO = int(EventKind.LEVEL_SET), int(EventKind.TRADE), int(EventKind.BBO)
_BAD_RECEIVE_TS = int(Flag.BAD_RECEIVE_TS)
_WORDS = MARKET_RECORD.size // 8


def foldable_rows(core: Core, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Which rows `apply_market_columns` may take: the rows `Core.apply` would fold into exactly
    one binary change. Trades and tops of book of a known instrument; level sets too when the
    books are price-level books and the row is one the book accepts (a side, a size of 0 or more).
    Any row whose receive time is known to be bad leaves the clock alone: one event at a time."""
    kind, instrument = columns["kind"], columns["instrument"]
    known = np.isin(instrument, np.fromiter(core.market.books, np.int64))
    quote = (kind == _TRADE) | (kind == _BBO)
    rows = quote
    if core.config.market.book == "l2":
        side, qty = columns["side"], columns["qty"]
        rows = quote | ((kind == _LEVEL_SET) & ((side == BID) | (side == ASK)) & (qty >= 0))
    return rows & known & (columns["flags"] & _BAD_RECEIVE_TS == 0)


def apply_market_columns(core: Core, columns: dict[str, np.ndarray]) -> list[tuple[int, bytes]]:
    """Apply rows that `foldable_rows` picked, given as int64 columns, while `core.market.quiet()`.

    `columns` holds position, kind, flags, ts_receive, instrument, side, price, qty, bid_price,
    bid_qty, ask_price and ask_qty; positions must increase from the Core's. Returns the digest
    blocks it closed (`DigestChain.add_market_records`), so a caller can tell what `core.digest`
    was after each row, as `Core.apply` would have left it.

    Twin: `Core.apply`.
    """
    position = columns["position"]
    n = len(position)
    if n == 0:
        return []
    if position[0] <= core.position:
        first = _row(columns, 0)
        raise InvariantViolation(
            first.position,
            first,
            "positions_increase",
            f"position {core.position}",
            f"position {first.position}",
        )
    if not core.market.quiet():
        first = _row(columns, 0)
        raise InvariantViolation(
            first.position, first, "folds_only_quiet_books", "a place rests", "a column fold"
        )
    kind, instrument = columns["kind"], columns["instrument"]
    now = np.maximum.accumulate(np.maximum(columns["ts_receive"], core.now))
    records = np.zeros((n, _WORDS), np.int64)
    records[:, 0], records[:, 1], records[:, 2] = RECORD_TAG, position, now
    records[:, 3], records[:, 4] = kind, instrument
    levels = kind == _LEVEL_SET
    if levels.any():
        _set_levels(core, columns, levels, records)
    quotes = ~levels
    if quotes.any():
        _set_quotes(core, columns, quotes, records)
    raw = records.astype("<i8", copy=False).tobytes()
    sealed = core.chain.add_market_records(position, raw) if core.digests else []
    core.position = int(position[-1])
    core.now = int(now[-1])
    return sealed


def _row(columns: dict[str, np.ndarray], row: int) -> Event:
    """Row `row` of the columns as an Event, for a diagnostic."""
    return Event(**{name: int(column[row]) for name, column in columns.items() if name in Event._fields})


def _set_levels(core: Core, columns: dict[str, np.ndarray], rows: np.ndarray, records: np.ndarray) -> None:
    """Each instrument's level sets, in stream order, into its book; each row's record holds the
    size it set (what the level shows after it, on a price-level book)."""
    instrument, side, price, qty, flags = (
        columns[name][rows] for name in ("instrument", "side", "price", "qty", "flags")
    )
    records[rows, 5], records[rows, 6], records[rows, 7] = side, price, qty
    for key in np.unique(instrument).tolist():
        mine = instrument == key
        core.market.books[key].set_levels(side[mine], price[mine], qty[mine], flags[mine])


def _set_quotes(core: Core, columns: dict[str, np.ndarray], rows: np.ndarray, records: np.ndarray) -> None:
    """Per instrument: the top of book of its latest BBO and the last trade of its latest TRADE."""
    kind, instrument = columns["kind"], columns["instrument"]
    quotes = core.market.quotes
    for key in np.unique(instrument[rows]).tolist():
        at = np.flatnonzero(rows & (instrument == key))
        start = quotes.get(key, Quote())
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
        quotes[key] = Quote(*(int(f[-1]) for f in fields))
