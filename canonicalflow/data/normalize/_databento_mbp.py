"""Databento MBP-1, TBBO, MBP-10 and trades records to canonical events, one record at a time.

Each record shows the whole visible book, so it is diffed against the levels the instrument last
showed to make LEVEL_SETs (and TRADE, BOOK_CLEAR).
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


class _Levels:
    """MBP and trades records, one at a time: the levels each instrument last showed, to diff against."""

    def __init__(
        self, path: Path, tick: int, instrument: int | Mapping[int, int], quarantine: Quarantine
    ) -> None:
        self._path = path
        self._tick = tick
        self._instrument = instrument
        self._quarantine = quarantine
        self._shown: dict[int, tuple[dict[int, int], dict[int, int]]] = {}
        self.events: list[list[int]] = []

    def record(self, rec: Any, number: int) -> None:
        events, problem = self._events(rec, self._tick, self._instrument)
        if problem is not None:
            self._quarantine.add(Quarantined(str(self._path), number, problem[0], problem[1], repr(rec)))
        self.events += events

    def flush(self) -> _Chunk:
        """The events so far as canonical columns; an MBP record never hands its packet end back."""
        columns = {
            name: pa.array(values, pa.int64())
            for name, values in zip(_OUT, zip(*self.events, strict=True), strict=True)
        }
        self.events = []
        return columns, []

    def _events(
        self, rec: Any, tick: int, instrument: int | Mapping[int, int]
    ) -> tuple[list[list[int]], tuple[str, str] | None]:
        if isinstance(rec, dbn.MBP1Msg | dbn.MBP10Msg):
            has_levels = True
        elif isinstance(rec, dbn.TradeMsg):
            has_levels = False
        else:
            return [], ("rtype", f"{type(rec).__name__} is not MBO, MBP-1, MBP-10 or trades data")
        action, side = rec.action.value, _SIDES.get(rec.side.value, 9)
        ours = instrument if isinstance(instrument, int) else instrument.get(rec.instrument_id)
        if ours is None:
            return [], ("instrument_id", f"{rec.instrument_id} is not in the instrument mapping")
        price = 0
        if action == "T":
            if rec.price == _UNDEF_PRICE:
                return [], ("price", "undefined, and a trade needs a price")
            price, rest = divmod(rec.price, tick)
            if rest:
                return [], ("price", f"not a whole number of ticks of {_tick_text(tick)}")
        if max(rec.ts_event, rec.ts_recv) > _INT64_MAX:
            return [], (
                "ts_event" if rec.ts_event > _INT64_MAX else "ts_recv",
                "undefined or does not fit int64",
            )
        flags = _FLAGS[rec.flags]
        head = [rec.ts_event, rec.ts_recv, ours]
        events = []
        if action == "T":
            events.append(
                [_TRADE, *head, flags & ~_LAST, rec.sequence, 0, side if side != 9 else 0, price, rec.size]
            )
        if not has_levels:
            if events:
                events[-1][_FLAGS_AT] = flags
            return events, None
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for index, level in enumerate(rec.levels):
            for shown, px, sz, name in (
                (bids, level.bid_px, level.bid_sz, "bid"),
                (asks, level.ask_px, level.ask_sz, "ask"),
            ):
                if px == _UNDEF_PRICE or not sz:
                    continue  # an empty level
                ticks, rest = divmod(px, tick)
                if rest:
                    return [], (
                        f"{name}_px_{index:02d}",
                        f"not a whole number of ticks of {_tick_text(tick)}",
                    )
                shown[ticks] = sz
        before = self._shown.get(ours, ({}, {}))
        if action == "R":
            events.append([_CLEAR, *head, flags & ~_LAST, rec.sequence, 0, 0, 0, 0])
            before = ({}, {})
        for level_side, old, new in ((1, before[0], bids), (-1, before[1], asks)):
            for level_price in old:
                if level_price not in new:
                    events.append(
                        [_LEVEL, *head, flags & ~_LAST, rec.sequence, 0, level_side, level_price, 0]
                    )
            for level_price, lots in new.items():
                if old.get(level_price) != lots:
                    events.append(
                        [_LEVEL, *head, flags & ~_LAST, rec.sequence, 0, level_side, level_price, lots]
                    )
        self._shown[ours] = (bids, asks)
        if events:
            events[-1][_FLAGS_AT] |= _LAST
        return events, None
