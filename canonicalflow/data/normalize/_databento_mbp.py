"""Databento MBP-1, TBBO, MBP-10 and trades records to canonical events, one record at a time.

Each record shows the whole visible book, so it is diffed against the levels the instrument last
showed to make LEVEL_SETs (and TRADE, BOOK_CLEAR). DBN records are checked here; the MBP CSV reader
checks its rows itself and hands the same values to `_Levels.add`, so both diff alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import databento_dbn as dbn
import pyarrow as pa

from canonicalflow.data.normalize._common import Quarantine, Quarantined
from canonicalflow.data.normalize._databento_codes import (
    _CLEAR,
    _FLAGS,
    _INT64_MAX,
    _LAST,
    _LEVEL,
    _SIDES,
    _TRADE,
    _UNDEF_PRICE,
    _tick_text,
)
from canonicalflow.data.normalize._databento_mbo import _OUT, _Chunk

_FLAGS_AT = _OUT.index("flags")

# The levels a record shows: (bids, asks), each price in ticks -> lots; only levels with lots.
Shown = tuple[dict[int, int], dict[int, int]]
_NOTHING: Shown = ({}, {})


class _Levels:
    """MBP and trades records, one at a time: the levels each instrument last showed, to diff against."""

    def __init__(
        self, path: Path, tick: int, instrument: int | Mapping[int, int], quarantine: Quarantine
    ) -> None:
        self._path = path
        self._tick = tick
        self._instrument = instrument
        self._quarantine = quarantine
        self._shown: dict[int, Shown] = {}
        self.events: list[list[int]] = []

    def record(self, rec: Any, number: int) -> None:
        """A DBN record; a bad one is quarantined."""
        problem = self._dbn(rec)
        if problem is not None:
            self._quarantine.add(Quarantined(str(self._path), number, problem[0], problem[1], repr(rec)))

    def flush(self) -> _Chunk:
        """The events so far as canonical columns; an MBP record never hands its packet end back."""
        columns = {
            name: pa.array(values, pa.int64())
            for name, values in zip(_OUT, zip(*self.events, strict=True), strict=True)
        }
        self.events = []
        return columns, []

    def add(
        self,
        head: tuple[int, int, int],
        action: str,
        side: int,
        price: int,
        size: int,
        flags: int,
        sequence: int,
        shown: Shown | None,
    ) -> None:
        """The events of one checked record: `head` is (ts_event, ts_recv, canonical instrument),
        `price` in ticks (used by a trade only), `flags` canonical, `shown` None for trades data.

        Passing the very `shown` the instrument showed last says its levels did not change."""
        events = self.events
        start = len(events)
        if action == "T":
            events.append([_TRADE, *head, flags & ~_LAST, sequence, 0, side, price, size])
        if shown is None:
            if len(events) > start:
                events[-1][_FLAGS_AT] = flags
            return
        ours = head[2]
        before = self._shown.get(ours, _NOTHING)
        if action == "R":
            events.append([_CLEAR, *head, flags & ~_LAST, sequence, 0, 0, 0, 0])
            before = _NOTHING
        if shown is not before:
            rest = flags & ~_LAST
            for level_side, old, new in ((1, before[0], shown[0]), (-1, before[1], shown[1])):
                if old == new:
                    continue
                for level_price in old:
                    if level_price not in new:
                        events.append([_LEVEL, *head, rest, sequence, 0, level_side, level_price, 0])
                for level_price, lots in new.items():
                    if old.get(level_price) != lots:
                        events.append([_LEVEL, *head, rest, sequence, 0, level_side, level_price, lots])
        self._shown[ours] = shown
        if len(events) > start:
            events[-1][_FLAGS_AT] |= _LAST

    def _dbn(self, rec: Any) -> tuple[str, str] | None:
        """Checks a DBN record and adds its events; (field, reason) for a bad one instead."""
        tick = self._tick
        if isinstance(rec, dbn.MBP1Msg | dbn.MBP10Msg):
            has_levels = True
        elif isinstance(rec, dbn.TradeMsg):
            has_levels = False
        else:
            return "rtype", f"{type(rec).__name__} is not MBO, MBP-1, MBP-10 or trades data"
        action, side = rec.action.value, _SIDES.get(rec.side.value, 0)
        instrument = self._instrument
        ours = instrument if isinstance(instrument, int) else instrument.get(rec.instrument_id)
        if ours is None:
            return "instrument_id", f"{rec.instrument_id} is not in the instrument mapping"
        price = 0
        if action == "T":
            if rec.price == _UNDEF_PRICE:
                return "price", "undefined, and a trade needs a price"
            price, rest = divmod(rec.price, tick)
            if rest:
                return "price", f"not a whole number of ticks of {_tick_text(tick)}"
        if max(rec.ts_event, rec.ts_recv) > _INT64_MAX:
            return (
                "ts_event" if rec.ts_event > _INT64_MAX else "ts_recv",
                "undefined or does not fit int64",
            )
        shown: Shown | None = None
        if has_levels:
            shown = ({}, {})
            for index, level in enumerate(rec.levels):
                for levels, px, sz, name in (
                    (shown[0], level.bid_px, level.bid_sz, "bid"),
                    (shown[1], level.ask_px, level.ask_sz, "ask"),
                ):
                    if px == _UNDEF_PRICE or not sz:
                        continue  # an empty level
                    ticks, rest = divmod(px, tick)
                    if rest:
                        return f"{name}_px_{index:02d}", f"not a whole number of ticks of {_tick_text(tick)}"
                    levels[ticks] = sz
        head = (rec.ts_event, rec.ts_recv, ours)
        self.add(head, action, side, price, rec.size, _FLAGS[rec.flags], rec.sequence, shown)
        return None
