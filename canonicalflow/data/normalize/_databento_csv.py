"""Databento MBO CSV files (`.csv`, `.csv.gz`) to canonical chunks.

Checks rows one by one (a bad row is quarantined with its line) into records for the MBO core.
Also what the MBP CSV reader shares: opening plain or gzip text, the header, times.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import re
from collections.abc import Callable, Iterator, Mapping
from operator import itemgetter
from pathlib import Path
from typing import IO

import pyarrow as pa

from canonicalflow.data.normalize._common import Quarantine, Quarantined
from canonicalflow.data.normalize._databento_codes import (
    _FLAGS,
    _INT64_MAX,
    _KIND_OF_ACTION,
    _NANO,
    _NEEDS_PRICE,
    _ORDER_ACTIONS,
    _SIDES,
    _tick_text,
    price_ticks,
)
from canonicalflow.data.normalize._databento_mbo import _Chunk, _MboCore
from canonicalflow.errors import DataError

# The MBO CSV columns read; others (publisher_id, channel_id, ts_in_delta, symbol, an index) are ignored.
CSV_COLUMNS = (
    "ts_recv",
    "ts_event",
    "instrument_id",
    "action",
    "side",
    "price",
    "size",
    "order_id",
    "flags",
    "sequence",
)

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|\+00:00)?")
_EPOCH = datetime.date(1970, 1, 1).toordinal()


class _Times:
    """Databento CSV times to integer ns: ISO 8601 UTC (pretty_ts) or integer ns. Whole seconds are cached."""

    def __init__(self) -> None:
        self._seconds: dict[str, int] = {}

    def __call__(self, text: str) -> int | None:
        if text.isascii() and text.isdigit():
            return int(text)
        if len(text) == 30 and text[19] == "." and text[29] == "Z":  # the usual form, fast
            base = self._seconds.get(text[:19])
            fraction = text[20:29]
            if base is not None and fraction.isascii() and fraction.isdigit():
                return base + int(fraction)
        match = _ISO.fullmatch(text)
        if match is None:
            return None
        date, hours, minutes, seconds, fraction = match.groups()
        try:
            day = datetime.date.fromisoformat(date).toordinal() - _EPOCH
        except ValueError:
            return None
        if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
            return None
        base = (day * 86_400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)) * _NANO
        if len(self._seconds) > 100_000:
            self._seconds.clear()
        self._seconds[text[:19]] = base
        return base + (int(fraction.ljust(9, "0")) if fraction else 0)


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return path.open("r", newline="", encoding="utf-8")


def _csv_header(path: Path) -> list[str] | None:
    """The header row of a CSV file, None when the file is empty: it says MBO or MBP."""
    try:
        with _open_text(path) as text:
            return next(csv.reader(text), None)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read as CSV: {error}") from None


def _csv_chunks(
    path: Path, tick: int, instrument: int | Mapping[int, int], quarantine: Quarantine, rows_per_chunk: int
) -> Iterator[_Chunk]:
    """MBO CSV rows, checked one by one (a bad row is quarantined with its line), then column-wise."""
    core = _MboCore()
    parse = _CsvRow(tick, instrument)
    records: list[tuple[int, ...]] = []
    try:
        with _open_text(path) as text:
            rows = csv.reader(text)
            header = next(rows, None)
            if header is None:
                raise DataError(f"{path}: empty, expected a header row")
            missing = [name for name in CSV_COLUMNS if name not in header]
            if missing:
                raise DataError(f"{path}:1: not Databento MBO CSV: no column {', '.join(missing)}")
            parse.locate(header)
            for row in rows:
                problem = parse(row, records)
                if problem is not None:
                    quarantine.add(
                        Quarantined(str(path), rows.line_num, problem[0], problem[1], ",".join(row))
                    )
                elif len(records) >= rows_per_chunk:
                    yield core(_csv_columns(records))
                    records = []
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read as CSV: {error}") from None
    yield core(_csv_columns(records))


_RECORD = (
    "action",
    "side",
    "price",
    "size",
    "order_id",
    "flags",
    "ts_event",
    "ts_recv",
    "sequence",
    "instrument",
)


def _csv_columns(records: list[tuple[int, ...]]) -> dict[str, pa.Array]:
    columns = zip(*records, strict=True) if records else [()] * len(_RECORD)
    return {name: pa.array(values, pa.int64()) for name, values in zip(_RECORD, columns, strict=True)}


class _CsvRow:
    """Checks one CSV row and adds it to the records; (field, reason) for its first bad field instead.

    Good rows take a fast path (one digit test for all integer fields, cached prices and seconds);
    a row that fails it is looked at field by field to say which field is wrong and why.
    """

    def __init__(self, tick: int, instrument: int | Mapping[int, int]) -> None:
        self._tick = tick
        self._instrument = instrument
        self._times = _Times()
        self._prices: dict[str, int | None] = {"": 0}
        self._width = 0
        self._rtype: int | None = None
        self._fields: Callable[[list[str]], tuple[str, ...]] = itemgetter(0)

    def locate(self, header: list[str]) -> None:
        self._width = len(header)
        self._rtype = header.index("rtype") if "rtype" in header else None
        self._fields = itemgetter(*(header.index(name) for name in CSV_COLUMNS))

    def __call__(self, row: list[str], records: list[tuple[int, ...]]) -> tuple[str, str] | None:
        if len(row) != self._width:
            return "row", f"{len(row)} fields; the header has {self._width}"
        if self._rtype is not None and row[self._rtype] != "160":
            return "rtype", f"{row[self._rtype]!r} is not an MBO record (rtype 160)"
        recv, event, venue, action, side_text, text, size, order_id, flags, sequence = self._fields(row)
        side = _SIDES.get(side_text)
        price = self._prices.get(text, -1)
        if price == -1:
            price = self._prices[text] = price_ticks(text, self._tick)
        digits = size + order_id + flags + sequence + venue
        ts_event, ts_recv = self._times(event), self._times(recv)
        if (
            action not in _KIND_OF_ACTION
            or side is None
            or (not side and action in _ORDER_ACTIONS)
            or price is None
            or (not text and action in _NEEDS_PRICE)
            or not (digits.isascii() and digits.isdigit())
            or max(len(size), len(order_id), len(sequence), len(venue)) > 18
            or not 0 < len(flags) < 4
            or "" in (size, order_id, sequence, venue)
            or int(flags) > 255
            or ts_event is None
            or ts_recv is None
            or max(ts_event, ts_recv) > _INT64_MAX
        ):
            return self._diagnose(row)
        ours = self._instrument if isinstance(self._instrument, int) else self._instrument.get(int(venue))
        if ours is None:
            return "instrument_id", f"{venue} is not in the instrument mapping"
        records.append(
            (
                ord(action),
                side,
                price,
                int(size),
                int(order_id),
                _FLAGS[int(flags)],
                ts_event,
                ts_recv,
                int(sequence),
                ours,
            )
        )
        return None

    def _diagnose(self, row: list[str]) -> tuple[str, str]:
        """Which field of a row the fast path refused, and why."""
        recv, event, venue, action, side_text, text, *numbers = self._fields(row)
        if action not in _KIND_OF_ACTION:
            return "action", f"{action!r} is not a Databento action (A, C, M, R, T, F, N)"
        side = _SIDES.get(side_text)
        if side is None:
            return "side", f"{side_text!r} is not a side (B, A, N)"
        if not side and action in _ORDER_ACTIONS:
            return "side", f"action {action} is an order's and needs side B or A, not N"
        if not text and action in _NEEDS_PRICE:
            return "price", f"empty, and action {action} needs a price"
        if self._prices.get(text) is None:
            return "price", f"{text!r} is not a whole number of ticks of {_tick_text(self._tick)}"
        for name, field in zip(
            ("size", "order_id", "flags", "sequence", "instrument_id"), (*numbers, venue), strict=True
        ):
            if not (field.isascii() and field.isdigit()) or int(field) > _INT64_MAX:
                return name, f"{field!r} is not a non-negative 64-bit integer"
        if int(numbers[2]) > 255:
            return "flags", f"{numbers[2]} is not a flag byte (0-255)"
        for name, field in (("ts_event", event), ("ts_recv", recv)):
            value = self._times(field)
            if value is None or value > _INT64_MAX:
                return name, f"{field!r} is not an ISO 8601 UTC time or integer ns"
        return "row", "refused"  # not reached: every check of the fast path is repeated above
