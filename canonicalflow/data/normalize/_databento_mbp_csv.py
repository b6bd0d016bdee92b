"""Databento MBP-1 (and TBBO) and MBP-10 CSV files (`.csv`, `.csv.gz`) to canonical chunks.

Rows are checked one by one (a bad row is quarantined with its line and field) and handed to the
level differ DBN records go through, so a CSV and the DBN file it was written from give the same
events. Columns are found by name, in any order; others (an index, rtype's neighbours, the `_ct_`
order counts, symbol, order_id) are ignored. The levels are `bid_px_NN, bid_sz_NN, ask_px_NN,
ask_sz_NN` for NN = 00 up to the highest level the header names. An empty price or 0 lots is an
empty level. A record's own price is used by a trade only (as in DBN), but must be a decimal.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from typing import cast

from canonicalflow.data.normalize._common import Quarantine, Quarantined
from canonicalflow.data.normalize._databento_codes import (
    _FLAGS,
    _INT64_MAX,
    _KIND_OF_ACTION,
    _SIDES,
    _tick_text,
    price_ticks,
)
from canonicalflow.data.normalize._databento_csv import CSV_COLUMNS, _open_text, _Times
from canonicalflow.data.normalize._databento_mbo import _Chunk
from canonicalflow.data.normalize._databento_mbp import Shown, _Levels
from canonicalflow.errors import DataError

# The MBP CSV columns read besides the levels: the MBO ones but the order id.
MBP_CSV_COLUMNS = tuple(name for name in CSV_COLUMNS if name != "order_id")
_LEVEL_COLUMN = re.compile(r"(?:bid|ask)_(?:px|sz|ct)_([0-9]{2})")
_RTYPES = ("1", "10")  # MBP-1 (and TBBO), MBP-10
_QUAD = (("bid", "px"), ("bid", "sz"), ("ask", "px"), ("ask", "sz"))


def _mbp_csv_chunks(
    path: Path, tick: int, instrument: int | Mapping[int, int], quarantine: Quarantine, events_per_chunk: int
) -> Iterator[_Chunk]:
    """MBP CSV rows, checked one by one (a bad row is quarantined with its line), diffed level by level."""
    levels = _Levels(path, tick, instrument, quarantine)
    try:
        with _open_text(path) as text:
            rows = csv.reader(text)
            header = next(rows, None)
            if header is None:
                raise DataError(f"{path}: empty, expected a header row")
            parse = _MbpRow(header, tick, instrument, levels)
            if parse.missing:
                raise DataError(f"{path}:1: not Databento MBP CSV: no column {', '.join(parse.missing)}")
            for row in rows:
                problem = parse(row)
                if problem is not None:
                    quarantine.add(
                        Quarantined(str(path), rows.line_num, problem[0], problem[1], ",".join(row))
                    )
                elif len(levels.events) >= events_per_chunk:
                    yield levels.flush()
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read as CSV: {error}") from None
    if levels.events:
        yield levels.flush()


def _is_decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _price_reason(text: str, tick: int) -> str:
    """Why `text` is not a price in ticks of `tick`."""
    if not _is_decimal(text):
        return f"{text!r} is not a decimal number"
    return f"{text!r} is not a whole number of ticks of {_tick_text(tick)}"


def _time_reason(text: str) -> str:
    return f"{text!r} is not an ISO 8601 UTC time or integer ns that fits int64"


class _Prices(dict[str, int | None]):
    """Decimal price text -> ticks (None when not a whole number of them), computed once per text."""

    def __init__(self, tick: int) -> None:
        super().__init__()
        self._tick = tick

    def __missing__(self, text: str) -> int | None:
        if len(self) > 100_000:
            self.clear()
        ticks = self[text] = price_ticks(text, self._tick) if text else None
        return ticks


def _is_count(text: str) -> bool:
    """A non-negative integer that fits int64 (18 digits always do); not empty."""
    return text.isascii() and text.isdigit() and (len(text) < 19 or int(text) <= _INT64_MAX)


def _counts(fields: tuple[str, ...]) -> bool:
    """Whether every field is a count (`_is_count`); one test of all digits at once for the usual rows."""
    digits = "".join(fields)
    if digits.isascii() and digits.isdigit() and "" not in fields and max(map(len, fields)) < 19:
        return True
    return all(map(_is_count, fields))


class _MbpRow:
    """Checks one MBP CSV row and hands it to the level differ; (field, reason) for its first bad field."""

    def __init__(
        self, header: list[str], tick: int, instrument: int | Mapping[int, int], levels: _Levels
    ) -> None:
        self._tick = tick
        self._instrument = instrument
        self._levels = levels
        self._times = _Times()
        self._prices = _Prices(tick)
        self._width = len(header)
        self._rtype = header.index("rtype") if "rtype" in header else None
        depth = 1 + max((int(m[1]) for name in header if (m := _LEVEL_COLUMN.fullmatch(name))), default=0)
        # per level: bid price, bid lots, ask price, ask lots
        self._names = [f"{s}_{f}_{i:02d}" for i in range(depth) for s, f in _QUAD]
        wanted = [*MBP_CSV_COLUMNS, *self._names]
        self.missing = [name for name in wanted if name not in header]
        self._depth = depth
        self._fields: Callable[[list[str]], tuple[str, ...]] = itemgetter(0)
        self._book: Callable[[list[str]], tuple[str, ...]] = itemgetter(0)
        if not self.missing:
            self._fields = itemgetter(*(header.index(name) for name in MBP_CSV_COLUMNS))
            self._book = itemgetter(*(header.index(name) for name in self._names))
        # the level fields each instrument showed last, and what they were read as
        self._last: dict[int, tuple[tuple[str, ...], Shown]] = {}

    def __call__(self, row: list[str]) -> tuple[str, str] | None:
        if len(row) != self._width:
            return "row", f"{len(row)} fields; the header has {self._width}"
        if self._rtype is not None and row[self._rtype] not in _RTYPES:
            return "rtype", f"{row[self._rtype]!r} is not an MBP-1 or MBP-10 record (rtype 1 or 10)"
        recv, event, venue, action, side_text, text, size, flags, sequence = self._fields(row)
        side = _SIDES.get(side_text)
        if (
            action not in _KIND_OF_ACTION
            or side is None
            or not _counts((size, flags, sequence, venue))
            or len(flags) > 3
            or int(flags) > 255
        ):
            return self._diagnose(row)
        ours = self._instrument if isinstance(self._instrument, int) else self._instrument.get(int(venue))
        if ours is None:
            return "instrument_id", f"{venue} is not in the instrument mapping"
        price = self._prices[text]
        if action == "T":
            if not text:
                return "price", "empty, and a trade needs a price"
            if price is None:
                return "price", _price_reason(text, self._tick)
        elif price is None:
            if text and not _is_decimal(text):
                return "price", _price_reason(text, self._tick)
            price = 0  # only a trade's price is used
        ts_event = self._times(event)
        ts_recv = ts_event if recv == event else self._times(recv)
        if ts_event is None or ts_event > _INT64_MAX:
            return "ts_event", _time_reason(event)
        if ts_recv is None or ts_recv > _INT64_MAX:
            return "ts_recv", _time_reason(recv)
        fields = self._book(row)
        last = self._last.get(ours)
        if last is not None and last[0] == fields:
            shown = last[1]  # the very levels shown last: the differ knows they did not change
        else:
            shown, problem = self._read_levels(fields)
            if problem is not None:
                return problem
            self._last[ours] = (fields, shown)
        self._levels.add(
            (ts_event, ts_recv, ours),
            action,
            side,
            price,
            int(size),
            _FLAGS[int(flags)],
            int(sequence),
            shown,
        )
        return None

    def _read_levels(self, fields: tuple[str, ...]) -> tuple[Shown, tuple[str, str] | None]:
        """The levels a row shows; (field, reason) for its first bad level field too, if any.

        All at once when every field is good; else level by level, bid before ask, as DBN records
        are read, so both name the same field."""
        sizes = fields[1::2]
        if _counts(sizes):
            lots = list(map(int, sizes))
            ticks = list(map(self._prices.__getitem__, fields[0::2]))
            bids = {t: n for t, n, px in zip(ticks[0::2], lots[0::2], fields[0::4], strict=True) if n and px}
            asks = {t: n for t, n, px in zip(ticks[1::2], lots[1::2], fields[2::4], strict=True) if n and px}
            if None not in bids and None not in asks:  # a shown level whose price is off the tick
                return cast(Shown, (bids, asks)), None  # no None key: every price is on the tick
        shown: Shown = ({}, {})
        at = 0
        for _ in range(self._depth):
            for levels in shown:
                px, sz = fields[at], fields[at + 1]
                at += 2
                if not _is_count(sz):
                    return shown, (self._names[at - 1], f"{sz!r} is not a non-negative 64-bit integer")
                n = int(sz)
                if not px or not n:
                    continue  # an empty level
                tick = self._prices[px]
                if tick is None:
                    return shown, (self._names[at - 2], _price_reason(px, self._tick))
                levels[tick] = n
        return shown, None

    def _diagnose(self, row: list[str]) -> tuple[str, str]:
        """Which field of a row the fast check refused, and why."""
        _, _, venue, action, side_text, _, size, flags, sequence = self._fields(row)
        if action not in _KIND_OF_ACTION:
            return "action", f"{action!r} is not a Databento action (A, C, M, R, T, F, N)"
        if side_text not in _SIDES:
            return "side", f"{side_text!r} is not a side (B, A, N)"
        for name, field in (
            ("size", size),
            ("flags", flags),
            ("sequence", sequence),
            ("instrument_id", venue),
        ):
            if not _is_count(field):
                return name, f"{field!r} is not a non-negative 64-bit integer"
        return "flags", f"{flags} is not a flag byte (0-255)"
