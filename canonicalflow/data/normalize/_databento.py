"""Databento market-by-order and market-by-price data (DBN or CSV) to canonical events.

Sources: DBN files (`.dbn`, `.dbn.zst`, read with `databento_dbn.DBNDecoder`, which reads every
zstd frame and upgrades DBN v1/v2 to v3) holding MBO, MBP-1 (and TBBO), MBP-10 or trades records;
and Databento MBO CSV (`.csv`, `.csv.gz`, a header naming the columns, prices as decimal strings,
times as ISO 8601 or integer nanoseconds).

Prices become integer ticks of `tick_size` (a decimal string such as "0.25") with integer
arithmetic only: DBN prices are int64 nanounits (1e-9), CSV prices are parsed with `Decimal`. A
price that is not a whole number of ticks is quarantined, never rounded.

| Databento MBO action | canonical event |
|---|---|
| A add | ORDER_ADD |
| C cancel | ORDER_CANCEL, qty = lots cancelled; ORDER_FILL when it removes lots an F filled (below) |
| M modify | ORDER_MODIFY with the new side, price and size |
| R clear | BOOK_CLEAR |
| T trade | TRADE, side = the aggressor's (N -> 0) |
| F fill | no event of its own: the C that follows it becomes the ORDER_FILL |
| N none | no event |

Why F is not the ORDER_FILL: in Databento MBO (CME and Nasdaq alike) a fill does not change the
book; the venue then sends a C (or an M) for the filled order, and that record is what removes the
lots. A canonical ORDER_FILL removes lots, so mapping F to it would remove them twice. F can not
simply stand in for the C either: the C's size, not the F's, is what leaves the book (an
aggressor's own resting order is filled for more than it rests with at its stale price; icebergs
refill). So the normalizer remembers, per order, the lots F records filled, and the next C on that
order becomes an ORDER_FILL for those lots (a surplus beyond them is a second event, an
ORDER_CANCEL). An M after an F stays an ORDER_MODIFY: it states the new size outright. The trade
itself is the T's TRADE. The book therefore changes exactly where Databento's book changes.

| Databento MBP record (MBP-1, TBBO, MBP-10) | canonical events |
|---|---|
| any | LEVEL_SET for each shown level whose lots changed since the instrument's previous record; a level no longer shown -> LEVEL_SET qty 0 at its price |
| action T | first a TRADE, side = the aggressor's |
| action R | first a BOOK_CLEAR; the record's levels are then set on the empty book |
| trades schema (MBP-0) | TRADE |

An MBP record is the whole visible book after its event, so the last event made from it is flagged
LAST_IN_PACKET. The canonical book built from MBP-N holds exactly the N levels the feed shows: a
level pushed out of view is removed, since nothing more is heard about it. MBP-1 becomes
LEVEL_SETs too (not BBO), so MBP-1 and MBP-10 feed the same price-level book.

Flags: F_LAST (128) -> LAST_IN_PACKET, F_SNAPSHOT (32) -> SNAPSHOT, F_BAD_TS_RECV (8) ->
BAD_RECEIVE_TS; the others (F_MBP, F_TOB, F_PUBLISHER_SPECIFIC, F_MAYBE_BAD_BOOK) are dropped. A
record that makes no event (F, N) passes its LAST_IN_PACKET to the event before it when that event
is of the same instrument and not yet released, so the packet's end is not lost.

ts_exchange = ts_event, ts_receive = ts_recv, sequence = the record's sequence. `instrument` is one
id for every record, or a mapping from Databento's instrument_id (an id missing from it is
quarantined). Positions number the events 1..n (from `first_position`) in file order; a record
quarantined or making no event takes none. Bad records go to the quarantine with the file, the
1-based CSV line (DBN: record number), the field and the reason.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import io
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import databento_dbn as dbn
import pyarrow as pa

from canonicalflow.data.normalize._common import Quarantine, Quarantined, event_batch
from canonicalflow.errors import DataError
from canonicalflow.events import Event, EventKind, Flag

__all__ = [
    "CSV_COLUMNS",
    "databento_events",
    "price_ticks",
    "read_databento",
    "tick_nanos",
]

# The MBO CSV columns the normalizer reads; others (publisher_id, channel_id, ts_in_delta, symbol,
# a leading index) may be present and are ignored.
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

_NANO = 1_000_000_000
_UNDEF_PRICE = dbn.UNDEF_PRICE
_MBO_RTYPE = 160
_LAST = int(Flag.LAST_IN_PACKET)
_ADD, _MODIFY = int(EventKind.ORDER_ADD), int(EventKind.ORDER_MODIFY)
_CANCEL, _FILL = int(EventKind.ORDER_CANCEL), int(EventKind.ORDER_FILL)
_CLEAR, _LEVEL, _TRADE = int(EventKind.BOOK_CLEAR), int(EventKind.LEVEL_SET), int(EventKind.TRADE)

# Databento flag byte -> canonical flags, for all 256 values.
_FLAGS = tuple(
    (_LAST if f & dbn.F_LAST else 0)
    | (int(Flag.SNAPSHOT) if f & dbn.F_SNAPSHOT else 0)
    | (int(Flag.BAD_RECEIVE_TS) if f & dbn.F_BAD_TS_RECV else 0)
    for f in range(256)
)
_SIDE = {"B": 1, "A": -1, "N": 0}
_ACTIONS = frozenset("ACMRTFN")
_NEEDS_PRICE = frozenset("ACMTF")
_ORDER_ACTIONS = frozenset("ACM")

# The partial event the converters produce: every Event field after `position` up to `qty`, with
# the two client-side fields (client_order_id, intent_id) left out. Index of each:
_KIND, _TS_EX, _TS_RECV, _INSTRUMENT, _FLAGS_AT, _SEQUENCE, _ORDER_ID, _SIDE_AT, _PRICE, _QTY = range(10)
_COLUMNS = (
    "kind",
    "ts_exchange",
    "ts_receive",
    "instrument",
    "flags",
    "sequence",
    "order_id",
    "side",
    "price",
    "qty",
)


def tick_nanos(tick_size: str) -> int:
    """The tick in Databento's price unit (1e-9): "0.25" -> 250_000_000. Raises ValueError when it is not one."""
    try:
        numerator, denominator = Decimal(tick_size).as_integer_ratio()
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"tick size {tick_size!r} is not a decimal number") from None
    nanos, rest = divmod(numerator * _NANO, denominator)
    if rest or nanos <= 0:
        raise ValueError(
            f"tick size {tick_size!r} is not a positive multiple of 1e-9, Databento's price unit"
        )
    return nanos


def price_ticks(price: str, tick: int) -> int | None:
    """A decimal price string as a whole number of ticks of `tick` nanounits; None when it is not one."""
    try:
        numerator, denominator = Decimal(price).as_integer_ratio()
    except (InvalidOperation, ValueError):
        return None
    ticks, rest = divmod(numerator * _NANO, denominator * tick)
    return None if rest else ticks


# --------------------------------------------------------------------------------------- public API


def read_databento(
    path: Path,
    tick_size: str,
    instrument: int | Mapping[int, int],
    quarantine: Quarantine,
    *,
    first_position: int = 1,
    batch_size: int = 1 << 16,
) -> Iterator[pa.RecordBatch]:
    """Canonical events of a Databento DBN or MBO CSV file, in Arrow batches of up to `batch_size` rows."""
    parts = _partial_events(Path(path), tick_size, instrument, quarantine)
    position = first_position
    chunk: list[tuple[int, ...]] = []
    for part in parts:
        chunk.append(part)
        if len(chunk) == batch_size:
            yield _batch(chunk, position)
            position += len(chunk)
            chunk = []
    if chunk:
        yield _batch(chunk, position)


def databento_events(
    path: Path,
    tick_size: str,
    instrument: int | Mapping[int, int],
    quarantine: Quarantine,
    *,
    first_position: int = 1,
) -> Iterator[Event]:
    """Canonical events of a Databento DBN or MBO CSV file, one Event at a time."""
    for position, (kind, tse, tsr, inst, flags, seq, oid, side, price, qty) in enumerate(
        _partial_events(Path(path), tick_size, instrument, quarantine), first_position
    ):
        yield Event(position, kind, tse, tsr, inst, flags, seq, oid, 0, 0, side, price, qty)


def _batch(chunk: list[tuple[int, ...]], position: int) -> pa.RecordBatch:
    columns = {
        name: pa.array(values, pa.int64())
        for name, values in zip(_COLUMNS, zip(*chunk, strict=True), strict=True)
    }
    columns["position"] = pa.array(range(position, position + len(chunk)), pa.int64())
    return event_batch(len(chunk), columns)


def _partial_events(
    path: Path, tick_size: str, instrument: int | Mapping[int, int], quarantine: Quarantine
) -> Iterator[tuple[int, ...]]:
    tick = tick_nanos(tick_size)
    name = path.name.lower()
    if name.endswith((".dbn", ".dbn.zst")):
        return _dbn_events(path, tick, instrument, quarantine)
    if name.endswith((".csv", ".csv.gz")):
        return _csv_events(path, tick, instrument, quarantine)
    raise DataError(f"{path}: not a Databento file this reads (.dbn, .dbn.zst, .csv, .csv.gz)")


# ------------------------------------------------------------------------------ the shared mapper


class _Mapper:
    """Turns validated records into partial events; keeps what spans records.

    State: the F lots per order not yet removed by a C (see the module docstring), the last levels
    each instrument's MBP records showed, and one event held back so that a record making no event
    can still mark the packet's end on it.
    """

    def __init__(self) -> None:
        self.out: list[tuple[int, ...]] = []
        self._held: list[int] | None = None
        self._filled: dict[int, dict[int, int]] = {}  # instrument -> order id -> lots filled, not yet removed
        self._levels: dict[int, tuple[dict[int, int], dict[int, int]]] = {}  # instrument -> (bids, asks)

    def _emit(self, event: list[int]) -> None:
        if self._held is not None:
            self.out.append(tuple(self._held))
        self._held = event

    def _pass_last(self, instrument: int, flags: int) -> None:
        held = self._held
        if flags & _LAST and held is not None and held[_INSTRUMENT] == instrument:
            held[_FLAGS_AT] |= _LAST

    def finish(self) -> None:
        if self._held is not None:
            self.out.append(tuple(self._held))
            self._held = None

    def mbo(
        self,
        action: str,
        side: int,
        price: int,
        size: int,
        order_id: int,
        flags: int,
        ts_event: int,
        ts_recv: int,
        sequence: int,
        instrument: int,
    ) -> None:
        """One MBO record; `flags` already canonical, `price` in ticks (0 when undefined)."""
        if action == "A":
            self._filled.get(instrument, {}).pop(order_id, None)  # a reused id starts afresh
            self._emit([_ADD, ts_event, ts_recv, instrument, flags, sequence, order_id, side, price, size])
        elif action == "C":
            filled = self._filled.get(instrument)
            lots = filled.pop(order_id, 0) if filled else 0
            if not lots:
                self._emit(
                    [_CANCEL, ts_event, ts_recv, instrument, flags, sequence, order_id, side, price, size]
                )
            elif size <= lots:
                if size < lots:
                    filled[order_id] = lots - size  # type: ignore[index]
                self._emit(
                    [_FILL, ts_event, ts_recv, instrument, flags, sequence, order_id, side, price, size]
                )
            else:  # the C removes the filled lots and cancels the rest
                first = flags & ~_LAST
                self._emit(
                    [_FILL, ts_event, ts_recv, instrument, first, sequence, order_id, side, price, lots]
                )
                rest = size - lots
                self._emit(
                    [_CANCEL, ts_event, ts_recv, instrument, flags, sequence, order_id, side, price, rest]
                )
        elif action == "M":
            self._filled.get(instrument, {}).pop(order_id, None)  # the new size is stated outright
            self._emit([_MODIFY, ts_event, ts_recv, instrument, flags, sequence, order_id, side, price, size])
        elif action == "T":
            self._emit([_TRADE, ts_event, ts_recv, instrument, flags, sequence, 0, side, price, size])
        elif action == "F":
            filled = self._filled.setdefault(instrument, {})
            filled[order_id] = filled.get(order_id, 0) + size
            self._pass_last(instrument, flags)
        elif action == "R":
            self._filled.pop(instrument, None)
            self._emit([_CLEAR, ts_event, ts_recv, instrument, flags, sequence, 0, 0, 0, 0])
        else:  # N: nothing happened to the book
            self._pass_last(instrument, flags)

    def mbp(
        self,
        action: str,
        side: int,
        price: int,
        size: int,
        flags: int,
        ts_event: int,
        ts_recv: int,
        sequence: int,
        instrument: int,
        bids: dict[int, int],
        asks: dict[int, int],
    ) -> None:
        """One MBP record: its trade or clear, then the levels that changed; the last flagged LAST_IN_PACKET."""
        flags &= ~_LAST
        events: list[list[int]] = []
        if action == "T":
            events.append([_TRADE, ts_event, ts_recv, instrument, flags, sequence, 0, side, price, size])
        previous = self._levels.get(instrument)
        if action == "R" or previous is None:
            if action == "R":
                events.append([_CLEAR, ts_event, ts_recv, instrument, flags, sequence, 0, 0, 0, 0])
            previous = ({}, {})
        for level_side, old, new in ((1, previous[0], bids), (-1, previous[1], asks)):
            for level_price in old:
                if level_price not in new:
                    events.append(
                        [
                            _LEVEL,
                            ts_event,
                            ts_recv,
                            instrument,
                            flags,
                            sequence,
                            0,
                            level_side,
                            level_price,
                            0,
                        ]
                    )
            for level_price, lots in new.items():
                if old.get(level_price) != lots:
                    events.append(
                        [
                            _LEVEL,
                            ts_event,
                            ts_recv,
                            instrument,
                            flags,
                            sequence,
                            0,
                            level_side,
                            level_price,
                            lots,
                        ]
                    )
        self._levels[instrument] = (bids, asks)
        if not events:
            return
        events[-1][_FLAGS_AT] |= _LAST
        for event in events:
            self._emit(event)

    def trade(
        self,
        side: int,
        price: int,
        size: int,
        flags: int,
        ts_event: int,
        ts_recv: int,
        sequence: int,
        instrument: int,
    ) -> None:
        self._emit([_TRADE, ts_event, ts_recv, instrument, flags, sequence, 0, side, price, size])


def _instrument_of(instrument: int | Mapping[int, int]) -> Callable[[int], int | None]:
    if isinstance(instrument, int):
        return lambda _venue_id: instrument
    return instrument.get


# ------------------------------------------------------------------------------------------ DBN

_DBN_ACTION = {a: a.value for a in dbn.Action.variants()}
_DBN_SIDE = {s: _SIDE[s.value] for s in dbn.Side.variants()}


def _dbn_records(path: Path, chunk: int = 1 << 20) -> Iterator[Any]:
    compression = dbn.Compression.ZSTD if path.name.lower().endswith(".zst") else dbn.Compression.NONE
    decoder = dbn.DBNDecoder(compression=compression)
    try:
        with path.open("rb") as stream:
            while data := stream.read(chunk):
                yield from decoder.write_and_decode(data)
    except (dbn.DBNError, ValueError) as error:  # the decoder reports damage as DBNError
        raise DataError(f"{path}: not readable as DBN: {error}") from None


def _dbn_events(
    path: Path, tick: int, instrument: int | Mapping[int, int], quarantine: Quarantine
) -> Iterator[tuple[int, ...]]:
    """DBN records to partial events; record numbers (1-based, metadata not counted) name bad ones."""
    mapper = _Mapper()
    out = mapper.out
    ours = _instrument_of(instrument)
    file = str(path)
    number = 0
    for record in _dbn_records(path):
        if isinstance(record, dbn.Metadata):
            continue
        number += 1
        problem = _dbn_record(mapper, record, tick, ours)
        if problem is not None:
            quarantine.add(Quarantined(file, number, problem[0], problem[1], repr(record)))
        if out:
            yield from out
            out.clear()
    mapper.finish()
    yield from out


def _dbn_record(
    mapper: _Mapper, rec: Any, tick: int, ours: Callable[[int], int | None]
) -> tuple[str, str] | None:
    """Feed one DBN record to the mapper; (field, reason) when it is bad instead."""
    if isinstance(rec, dbn.MBOMsg):
        kind = "mbo"
    elif isinstance(rec, dbn.MBP1Msg | dbn.MBP10Msg):
        kind = "mbp"
    elif isinstance(rec, dbn.TradeMsg):
        kind = "trade"
    else:
        return "rtype", f"{type(rec).__name__} is not MBO, MBP-1, MBP-10 or trades data"
    action = _DBN_ACTION[rec.action]
    side = _DBN_SIDE[rec.side]
    instrument = ours(rec.instrument_id)
    if instrument is None:
        return "instrument_id", f"instrument_id {rec.instrument_id} is not in the instrument mapping"
    raw_price = rec.price
    if raw_price == _UNDEF_PRICE:
        if action in _NEEDS_PRICE if kind == "mbo" else action == "T":
            return "price", f"action {action} needs a price; it is undefined"
        price = 0
    else:
        price, rest = divmod(raw_price, tick)
        if rest:
            return "price", f"{raw_price}e-9 is not a whole number of ticks of {tick}e-9"
    flags = _FLAGS[rec.flags]
    if kind == "mbo":
        if action in _ORDER_ACTIONS and not side:
            return "side", f"action {action} needs side B or A, not N"
        mapper.mbo(
            action,
            side,
            price,
            rec.size,
            rec.order_id,
            flags,
            rec.ts_event,
            rec.ts_recv,
            rec.sequence,
            instrument,
        )
        return None
    if kind == "trade":
        mapper.trade(side, price, rec.size, flags, rec.ts_event, rec.ts_recv, rec.sequence, instrument)
        return None
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for index, level in enumerate(rec.levels):
        for book, px, sz, name in (
            (bids, level.bid_px, level.bid_sz, "bid"),
            (asks, level.ask_px, level.ask_sz, "ask"),
        ):
            if px == _UNDEF_PRICE or not sz:
                continue  # an empty level
            ticks, rest = divmod(px, tick)
            if rest:
                return f"{name}_px_{index:02d}", f"{px}e-9 is not a whole number of ticks of {tick}e-9"
            book[ticks] = sz
    mapper.mbp(
        action, side, price, rec.size, flags, rec.ts_event, rec.ts_recv, rec.sequence, instrument, bids, asks
    )
    return None


# ------------------------------------------------------------------------------------------ CSV

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|\+00:00)?")
_EPOCH = datetime.date(1970, 1, 1).toordinal()


class _Times:
    """Databento CSV times to integer ns: ISO 8601 UTC (pretty_ts) or plain integer ns; days cached."""

    def __init__(self) -> None:
        self._days: dict[str, int] = {}

    def __call__(self, text: str) -> int | None:
        if text.isascii() and text.isdigit():
            return int(text)
        match = _ISO.fullmatch(text)
        if match is None:
            return None
        date, hours, minutes, seconds, fraction = match.groups()
        day_ns = self._days.get(date)
        if day_ns is None:
            try:
                day_ns = (datetime.date.fromisoformat(date).toordinal() - _EPOCH) * 86_400 * _NANO
            except ValueError:
                return None
            self._days[date] = day_ns
        if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 60:
            return None
        nanos = int(fraction.ljust(9, "0")) if fraction else 0
        return day_ns + (int(hours) * 3600 + int(minutes) * 60 + int(seconds)) * _NANO + nanos


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8")  # type: ignore[return-value]
    return path.open("r", newline="", encoding="utf-8")


def _natural(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _csv_events(
    path: Path, tick: int, instrument: int | Mapping[int, int], quarantine: Quarantine
) -> Iterator[tuple[int, ...]]:
    """MBO CSV rows to partial events; a bad row is quarantined with its 1-based line number."""
    mapper = _Mapper()
    out = mapper.out
    ours = _instrument_of(instrument)
    file = str(path)
    times = _Times()
    prices: dict[str, int | None] = {}
    try:
        with _open_text(path) as text:
            rows = csv.reader(text)
            header = next(rows, None)
            if header is None:
                raise DataError(f"{path}: empty file, expected a header row")
            missing = [name for name in CSV_COLUMNS if name not in header]
            if missing:
                raise DataError(f"{path}:1: not Databento MBO CSV: no column {', '.join(missing)}")
            width = len(header)
            at = {name: header.index(name) for name in header if name}
            i_recv, i_event, i_inst, i_action, i_side, i_price, i_size, i_oid, i_flags, i_seq = (
                at[name] for name in CSV_COLUMNS
            )
            i_rtype = at.get("rtype")
            for row in rows:
                problem = None
                if len(row) != width:
                    problem = "row", f"{len(row)} fields; the header has {width}"
                else:
                    problem = _csv_row(
                        mapper,
                        row,
                        (i_recv, i_event, i_inst, i_action, i_side, i_price, i_size, i_oid, i_flags, i_seq),
                        i_rtype,
                        tick,
                        ours,
                        times,
                        prices,
                    )
                if problem is not None:
                    quarantine.add(Quarantined(file, rows.line_num, problem[0], problem[1], ",".join(row)))
                if out:
                    yield from out
                    out.clear()
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read as CSV: {error}") from None
    mapper.finish()
    yield from out


def _csv_row(
    mapper: _Mapper,
    row: list[str],
    index: tuple[int, ...],
    i_rtype: int | None,
    tick: int,
    ours: Callable[[int], int | None],
    times: _Times,
    prices: dict[str, int | None],
) -> tuple[str, str] | None:
    """Feed one CSV row to the mapper; (field, reason) for the first bad field instead."""
    i_recv, i_event, i_inst, i_action, i_side, i_price, i_size, i_oid, i_flags, i_seq = index
    if i_rtype is not None and row[i_rtype] != "160":
        return "rtype", f"{row[i_rtype]!r} is not an MBO record (rtype 160)"
    action = row[i_action]
    if action not in _ACTIONS:
        return "action", f"{action!r} is not a Databento action (A, C, M, R, T, F, N)"
    side = _SIDE.get(row[i_side])
    if side is None:
        return "side", f"{row[i_side]!r} is not a side (B, A, N)"
    if not side and action in _ORDER_ACTIONS:
        return "side", f"action {action} needs side B or A, not N"
    ts_recv = times(row[i_recv])
    if ts_recv is None:
        return "ts_recv", f"{row[i_recv]!r} is not an ISO 8601 UTC time or integer ns"
    ts_event = times(row[i_event])
    if ts_event is None:
        return "ts_event", f"{row[i_event]!r} is not an ISO 8601 UTC time or integer ns"
    text = row[i_price]
    if not text:
        if action in _NEEDS_PRICE:
            return "price", f"action {action} needs a price; it is empty"
        price: int | None = 0
    else:
        price = prices.get(text, -1)
        if price == -1:
            price = prices[text] = price_ticks(text, tick)
        if price is None:
            return "price", f"{text!r} is not a whole number of ticks of {Decimal(tick).scaleb(-9)}"
    values = []
    for name, i in (("size", i_size), ("order_id", i_oid), ("flags", i_flags), ("sequence", i_seq)):
        value = _natural(row[i])
        if value is None:
            return name, f"{row[i]!r} is not a non-negative integer"
        values.append(value)
    size, order_id, flags, sequence = values
    if flags > 255:
        return "flags", f"{flags} is not a flag byte (0-255)"
    venue_id = _natural(row[i_inst])
    if venue_id is None:
        return "instrument_id", f"{row[i_inst]!r} is not a non-negative integer"
    instrument = ours(venue_id)
    if instrument is None:
        return "instrument_id", f"instrument_id {venue_id} is not in the instrument mapping"
    mapper.mbo(action, side, price, size, order_id, _FLAGS[flags], ts_event, ts_recv, sequence, instrument)
    return None
