"""Databento market-by-order and market-by-price data (DBN or CSV) to canonical events.

Sources: DBN files (`.dbn`, `.dbn.zst`, read with `databento_dbn.DBNDecoder`, which reads across
zstd frames and upgrades DBN v1/v2 to v3) holding MBO, MBP-1 (and TBBO), MBP-10 or trades records;
and Databento MBO CSV (`.csv`, `.csv.gz`: a header naming the columns, prices as decimal strings,
times as ISO 8601 UTC or integer nanoseconds).

Prices become integer ticks of `tick_size` (a decimal string such as "0.25") by integer arithmetic
only: DBN prices are int64 nanounits (1e-9); CSV prices are read with `Decimal`. A price that is
not a whole number of ticks is quarantined, never rounded. Pick the tick the data needs: Nasdaq
prints midpoint trades at half cents, so "0.01" refuses them where "0.0001" keeps them.

| Databento MBO action | canonical event |
|---|---|
| A add | ORDER_ADD |
| C cancel | ORDER_CANCEL, qty = lots cancelled; ORDER_FILL when its lots are ones an F filled (below) |
| M modify | ORDER_MODIFY with the new side, price and size |
| R clear | BOOK_CLEAR |
| T trade | TRADE, side = the aggressor's (N -> 0) |
| F fill | no event of its own: the C that takes its lots off the book is the ORDER_FILL |
| N none | no event |

Why F is not itself the ORDER_FILL: in Databento MBO (CME and Nasdaq alike) a fill does not change
the book. The venue then sends a C or an M for the filled order, and that record removes the lots.
A canonical ORDER_FILL removes lots, so mapping F to it would remove them twice; and the F can not
stand in for the C either, since the C's size is what leaves the book (an aggressor's own order is
filled for more than it rests with at its old price; icebergs refill). So the normalizer counts,
per order, the lots F records filled; the next C on that order becomes an ORDER_FILL when it
removes no more than those lots, and stays an ORDER_CANCEL when it removes more (it is then mostly
a cancel). An M after an F stays an ORDER_MODIFY: it states the new size outright. The trade itself
is the T's TRADE. The book thus changes exactly where and by what Databento's book changes.

| Databento MBP record (MBP-1, TBBO, MBP-10) | canonical events |
|---|---|
| any | LEVEL_SET per shown level whose lots changed since the instrument's last record; qty 0 for one gone |
| action T | first a TRADE, side = the aggressor's |
| action R | first a BOOK_CLEAR; the record's levels are then set on the empty book |
| trades schema (MBP-0) | TRADE |

An MBP record is the whole visible book after its event, so the last event made from each record
is flagged LAST_IN_PACKET. The price-level book built from MBP-N holds exactly the N levels shown:
a level pushed out of view is removed, as nothing more is heard of it. MBP-1 becomes LEVEL_SETs
too, not BBO, so MBP-1 and MBP-10 feed the same L2 book and say which side changed.

Flags: F_LAST (128) -> LAST_IN_PACKET, F_SNAPSHOT (32) -> SNAPSHOT, F_BAD_TS_RECV (8) ->
BAD_RECEIVE_TS; the others (F_MBP, F_TOB, F_PUBLISHER_SPECIFIC, F_MAYBE_BAD_BOOK) are dropped. A
record that makes no event (F, N) passes its LAST_IN_PACKET to the event before it, when that one
is of the same instrument, so the end of the venue's packet is not lost.

ts_exchange = ts_event, ts_receive = ts_recv, sequence = the record's sequence; `instrument` is one
id for every record or a mapping from Databento's instrument_id (an id not in it is quarantined).
Positions number the events from `first_position` in file order. A bad record goes to the
quarantine with the file, its 1-based CSV line (DBN: record number), the field and the reason.

Speed: MBO records are converted column-wise (DBN records by their raw bytes, which the decoder
gives for each record), so only F fills and the C/M records of filled orders are looked at one by
one. MBP records are compared level by level in Python.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import databento_dbn as dbn
import pyarrow as pa
import pyarrow.compute as pc

from canonicalflow.data.normalize._common import Quarantine, Quarantined, event_batch
from canonicalflow.errors import DataError
from canonicalflow.events import Event, EventKind, Flag, iter_events

__all__ = ["CSV_COLUMNS", "databento_events", "price_ticks", "read_databento", "tick_nanos"]

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
# The canonical columns made here, in this order; position is added when batches are cut, the rest stay 0.
_OUT = (
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
_FLAGS_AT = _OUT.index("flags")

_NANO = 1_000_000_000
_INT64_MAX = (1 << 63) - 1
_UNDEF_PRICE = dbn.UNDEF_PRICE
_LAST = int(Flag.LAST_IN_PACKET)
_ADD, _MODIFY = int(EventKind.ORDER_ADD), int(EventKind.ORDER_MODIFY)
_CANCEL, _FILL = int(EventKind.ORDER_CANCEL), int(EventKind.ORDER_FILL)
_CLEAR, _LEVEL, _TRADE = int(EventKind.BOOK_CLEAR), int(EventKind.LEVEL_SET), int(EventKind.TRADE)

# Databento flag byte -> canonical flags, for all 256 values.
_FLAGS = [
    (_LAST if f & dbn.F_LAST else 0)
    | (int(Flag.SNAPSHOT) if f & dbn.F_SNAPSHOT else 0)
    | (int(Flag.BAD_RECEIVE_TS) if f & dbn.F_BAD_TS_RECV else 0)
    for f in range(256)
]
_SIDES = {"B": 1, "A": -1, "N": 0}
_KIND_OF_ACTION = {"A": _ADD, "C": _CANCEL, "M": _MODIFY, "R": _CLEAR, "T": _TRADE, "F": 0, "N": 0}
_NEEDS_PRICE = "ACMTF"
_ORDER_ACTIONS = "ACM"


def _lookup(values: Mapping[int, int], default: int) -> pa.Array:
    """A 256-entry int64 table for pc.take, indexed by a byte."""
    return pa.array([values.get(byte, default) for byte in range(256)], pa.int64())


_FLAG_TABLE = pa.array(_FLAGS, pa.int64())
_KIND_TABLE = _lookup({ord(a): k for a, k in _KIND_OF_ACTION.items()}, -1)  # -1: not an action
_SIDE_TABLE = _lookup({ord(s): v for s, v in _SIDES.items()}, 9)  # 9: not a side
_F, _C, _A, _M, _R = (ord(a) for a in "FCAMR")
_PRICED = pa.array([ord(a) for a in _NEEDS_PRICE], pa.int64())
_ORDERS = pa.array([ord(a) for a in _ORDER_ACTIONS], pa.int64())


def tick_nanos(tick_size: str) -> int:
    """The tick in Databento's price unit (1e-9): "0.25" -> 250_000_000. ValueError when it is not one."""
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


def _tick_text(tick: int) -> str:
    """A tick in nanounits as the decimal it stands for: 250_000_000 -> "0.25"."""
    return format(Decimal(tick).scaleb(-9).normalize(), "f")


def price_ticks(price: str, tick: int) -> int | None:
    """A decimal price string in ticks of `tick` nanounits, exactly; None when it falls between ticks."""
    try:
        numerator, denominator = Decimal(price).as_integer_ratio()
    except (InvalidOperation, ValueError):
        return None
    ticks, rest = divmod(numerator * _NANO, denominator * tick)
    return None if rest else ticks


# ------------------------------------------------------------------------------------ public API


def read_databento(
    path: Path,
    tick_size: str,
    instrument: int | Mapping[int, int],
    quarantine: Quarantine,
    *,
    first_position: int = 1,
    batch_size: int = 1 << 16,
) -> Iterator[pa.RecordBatch]:
    """Canonical events of a Databento DBN or MBO CSV file in Arrow batches of at most `batch_size` rows."""
    path = Path(path)
    tick = tick_nanos(tick_size)
    name = path.name.lower()
    if name.endswith((".dbn", ".dbn.zst")):
        chunks = _dbn_chunks(path, tick, instrument, quarantine)
    elif name.endswith((".csv", ".csv.gz")):
        chunks = _csv_chunks(path, tick, instrument, quarantine, batch_size)
    else:
        raise DataError(f"{path}: not a Databento file this reads (.dbn, .dbn.zst, .csv, .csv.gz)")
    position = first_position
    for columns in _released(chunks):
        length = len(columns["kind"])
        for start in range(0, length, batch_size):
            size = min(batch_size, length - start)
            part = {name: array.slice(start, size) for name, array in columns.items()}
            part["position"] = _rows(size, position)
            position += size
            yield event_batch(size, part)


def databento_events(
    path: Path,
    tick_size: str,
    instrument: int | Mapping[int, int],
    quarantine: Quarantine,
    *,
    first_position: int = 1,
) -> Iterator[Event]:
    """Canonical events of a Databento DBN or MBO CSV file, one Event at a time."""
    for batch in read_databento(path, tick_size, instrument, quarantine, first_position=first_position):
        yield from iter_events(batch)


# A chunk of output: the canonical columns, and the instruments whose LAST_IN_PACKET a record
# that made no event hands back to the last event of the chunks before.
_Chunk = tuple[dict[str, pa.Array], list[int]]


def _released(chunks: Iterator[_Chunk]) -> Iterator[dict[str, pa.Array]]:
    """Holds each chunk back until the next one has said whether its last event ends a packet."""
    held: dict[str, pa.Array] | None = None
    for columns, carried in chunks:
        if held is not None and carried:
            held = _mark_last(held, carried)
        if len(columns["kind"]):
            if held is not None:
                yield held
            held = columns
    if held is not None:
        yield held


def _mark_last(columns: dict[str, pa.Array], instruments: list[int]) -> dict[str, pa.Array]:
    last = len(columns["kind"]) - 1
    if columns["instrument"][last].as_py() not in instruments:
        return columns
    flags = columns["flags"].to_pylist()
    flags[last] |= _LAST
    return {**columns, "flags": pa.array(flags, pa.int64())}


# ------------------------------------------------------------------------------ the MBO core


class _MboCore:
    """Validated MBO records, column-wise, to canonical columns. Keeps the F lots not yet taken off."""

    def __init__(self) -> None:
        # instrument -> order id -> lots F records filled that no C or M has taken off yet
        self._filled: dict[int, dict[int, int]] = {}

    def __call__(self, records: dict[str, pa.Array]) -> _Chunk:
        """`records`: action (byte), side, price (ticks), size, order_id, flags (canonical), ts_event,
        ts_recv, sequence, instrument; int64 columns of good records in file order."""
        action = records["action"]
        kind = pc.take(_KIND_TABLE, action)
        fills = self._fold(records)
        if fills:
            kind = pc.if_else(_at(len(kind), fills), _FILL, kind)
        flags = records["flags"]
        instrument = records["instrument"]
        keep = pc.not_equal(kind, 0)
        carried: list[int] = []
        silent_last = pc.and_(pc.invert(keep), pc.not_equal(pc.bit_wise_and(flags, _LAST), 0))
        if pc.any(silent_last).as_py():
            # for each row, the last row at or before it that makes an event
            before = pc.cumulative_max(pc.if_else(keep, _rows(len(kind)), -1))
            sources = pc.indices_nonzero(silent_last)
            targets = pc.take(before, sources)
            same = pc.equal(
                pc.take(instrument, pc.if_else(pc.less(targets, 0), 0, targets)), pc.take(instrument, sources)
            )
            inside = pc.and_(pc.greater_equal(targets, 0), same)
            marked = pc.filter(targets, inside)
            if len(marked):
                flags = pc.if_else(_at(len(kind), marked), pc.bit_wise_or(flags, _LAST), flags)
            carried = pc.filter(pc.take(instrument, sources), pc.less(targets, 0)).to_pylist()
        is_trade = pc.equal(kind, _TRADE)
        is_clear = pc.equal(kind, _CLEAR)
        columns = {
            "kind": kind,
            "ts_exchange": records["ts_event"],
            "ts_receive": records["ts_recv"],
            "instrument": instrument,
            "flags": flags,
            "sequence": records["sequence"],
            "order_id": pc.if_else(pc.or_(is_trade, is_clear), 0, records["order_id"]),
            "side": pc.if_else(is_clear, 0, records["side"]),
            "price": pc.if_else(is_clear, 0, records["price"]),
            "qty": pc.if_else(is_clear, 0, records["size"]),
        }
        if not pc.all(keep).as_py():
            columns = {name: pc.filter(array, keep) for name, array in columns.items()}
        return columns, carried

    def _fold(self, records: dict[str, pa.Array]) -> list[int]:
        """Walk F records and the later records of their orders; the rows of the C records that are fills."""
        action = records["action"]
        is_fill = pc.equal(action, _F)
        has_fills = pc.any(is_fill).as_py()
        if not has_fills and not self._filled:
            return []
        watched = {oid for orders in self._filled.values() for oid in orders}
        if has_fills:
            watched.update(pc.filter(records["order_id"], is_fill).to_pylist())
        interesting = pc.or_(
            pc.or_(is_fill, pc.equal(action, _R)),
            pc.is_in(records["order_id"], value_set=pa.array(sorted(watched), pa.int64())),
        )
        rows = pc.indices_nonzero(interesting)
        picked = [
            pc.take(records[name], rows).to_pylist() for name in ("action", "order_id", "size", "instrument")
        ]
        fills: list[int] = []
        filled = self._filled
        for row, code, order_id, size, instrument in zip(rows.to_pylist(), *picked, strict=True):
            if code == _F:
                orders = filled.setdefault(instrument, {})
                orders[order_id] = orders.get(order_id, 0) + size
            elif code == _C:  # the C after an F: a fill if it removes no more than was filled
                orders = filled.get(instrument)
                lots = orders.pop(order_id, 0) if orders else 0
                if lots and size <= lots:
                    fills.append(row)
                if orders is not None and size < lots:
                    orders[order_id] = lots - size
            elif code in (_A, _M):  # a reused id starts afresh; M states the size outright
                orders = filled.get(instrument)
                if orders:
                    orders.pop(order_id, None)
            elif code == _R:
                filled.pop(instrument, None)
        for instrument in [i for i, orders in filled.items() if not orders]:
            del filled[instrument]
        return fills


def _rows(length: int, first: int = 0) -> pa.Array:
    """first, first + 1, ..., first + length - 1 as an int64 column, built without Python ints."""
    return pc.add(pc.cumulative_sum(pa.nulls(length, pa.int64()).fill_null(1)), first - 1)


def _at(length: int, rows: list[int] | pa.Array) -> pa.Array:
    """A boolean column, true at `rows`."""
    return pc.is_in(_rows(length), value_set=pa.array(rows, pa.int64()))


def _instrument_column(venue_ids: pa.Array, instrument: int | Mapping[int, int]) -> tuple[pa.Array, pa.Array]:
    """(canonical instrument per record, whether it has one)."""
    if isinstance(instrument, int):
        length = len(venue_ids)
        return pa.nulls(length, pa.int64()).fill_null(instrument), pa.nulls(length, pa.bool_()).fill_null(
            True
        )
    known = [venue for venue in pc.unique(venue_ids).to_pylist() if venue in instrument]
    keys = pa.array(known, venue_ids.type)
    values = pa.array([instrument[venue] for venue in known], pa.int64())
    index = pc.index_in(venue_ids, value_set=keys)
    return pc.fill_null(pc.take(values, index), 0), index.is_valid()


# ------------------------------------------------------------------------------------------ DBN


def _dbn_records(path: Path, chunk: int = 1 << 20) -> Iterator[list[Any]]:
    compression = dbn.Compression.ZSTD if path.name.lower().endswith(".zst") else dbn.Compression.NONE
    decoder = dbn.DBNDecoder(compression=compression)
    try:
        with path.open("rb") as stream:
            while data := stream.read(chunk):
                records = decoder.write_and_decode(data)
                if records:
                    yield records
    except dbn.DBNError as error:
        raise DataError(f"{path}: not readable as DBN: {error}") from None


def _dbn_chunks(
    path: Path, tick: int, instrument: int | Mapping[int, int], quarantine: Quarantine
) -> Iterator[_Chunk]:
    """Runs of MBO records go column-wise through the core; MBP and trades records one by one."""
    core = _MboCore()
    levels = _Levels(path, tick, instrument, quarantine)
    number = first = 0  # 1-based record numbers, metadata not counted
    for records in _dbn_records(path):
        if isinstance(records[0], dbn.Metadata):
            records = records[1:]
        if records and all(type(record) is dbn.MBOMsg for record in records):  # the usual case: one run
            if levels.events:
                yield levels.flush()
            yield _dbn_mbo(path, records, number + 1, tick, instrument, quarantine, core)
            number += len(records)
            continue
        run: list[Any] = []
        for record in records:
            if type(record) is dbn.MBOMsg:
                number += 1
                if not run:
                    first = number
                    if levels.events:  # keep file order
                        yield levels.flush()
                run.append(record)
                continue
            if run:
                yield _dbn_mbo(path, run, first, tick, instrument, quarantine, core)
                run = []
            if not isinstance(record, dbn.Metadata):
                number += 1
                levels.record(record, number)
        if run:
            yield _dbn_mbo(path, run, first, tick, instrument, quarantine, core)
        if levels.events:
            yield levels.flush()


def _dbn_mbo(
    path: Path,
    run: list[Any],
    first: int,
    tick: int,
    instrument: int | Mapping[int, int],
    quarantine: Quarantine,
    core: _MboCore,
) -> _Chunk:
    """A run of MBO records, read column-wise from their raw bytes (DBN v3 MboMsg, little-endian)."""
    if sys.byteorder != "little":
        raise DataError(f"{path}: reading DBN column-wise needs a little-endian machine")
    raw = b"".join(map(bytes, run))
    width = len(raw) // len(run)
    if width not in (56, 64) or width * len(run) != len(raw):  # 64: with ts_out
        raise DataError(f"{path}: MBO records of {len(raw) / len(run)} bytes; DBN's MboMsg has 56")
    words = pa.Array.from_buffers(pa.uint64(), len(raw) // 8, [None, pa.py_buffer(raw)])
    lists = pa.FixedSizeListArray.from_arrays(words, width // 8)
    word = [pc.list_element(lists, i) for i in range(7)]
    # header | ts_event | order_id | price | size, flags, channel, action, side | ts_recv | delta, sequence
    byte = pa.scalar(0xFF, pa.uint64())

    def bits(w: pa.Array, shift: int, mask: int = 0xFF) -> pa.Array:
        moved = pc.shift_right(w, pa.scalar(shift, pa.uint64())) if shift else w
        return pc.cast(pc.bit_wise_and(moved, pa.scalar(mask, pa.uint64())), pa.int64())

    if not pc.all(pc.equal(pc.bit_wise_and(word[0], byte), width // 4)).as_py():
        raise DataError(f"{path}: records {first}..: MBO record length bytes disagree with their size")
    action = bits(word[4], 48)
    side = pc.take(_SIDE_TABLE, bits(word[4], 56))
    price = pc.cast(word[3], pa.int64(), safe=False)
    ours, known = _instrument_column(bits(word[0], 32, 0xFFFFFFFF), instrument)
    fits = pa.scalar(_INT64_MAX, pa.uint64())
    undefined = pc.equal(price, _UNDEF_PRICE)
    ticks = pc.divide(price, tick)
    checks: list[tuple[str, str, pa.Array]] = [
        (
            "action",
            "not a Databento action (A, C, M, R, T, F, N)",
            pc.not_equal(pc.take(_KIND_TABLE, action), -1),
        ),
        ("side", "not a side (B, A, N)", pc.not_equal(side, 9)),
        (
            "side",
            "an order's action (A, C, M) needs side B or A, not N",
            pc.or_(pc.invert(pc.is_in(action, value_set=_ORDERS)), pc.not_equal(side, 0)),
        ),
        (
            "price",
            "undefined, and the action needs a price",
            pc.or_(pc.invert(undefined), pc.invert(pc.is_in(action, value_set=_PRICED))),
        ),
        (
            "price",
            f"not a whole number of ticks of {_tick_text(tick)}",
            pc.or_(undefined, pc.equal(pc.multiply(ticks, tick), price)),
        ),
        ("instrument_id", "not in the instrument mapping", known),
        ("order_id", "does not fit int64", pc.less_equal(word[2], fits)),
        ("ts_event", "undefined or does not fit int64", pc.less_equal(word[1], fits)),
        ("ts_recv", "undefined or does not fit int64", pc.less_equal(word[5], fits)),
    ]
    good = checks[0][2]
    for _, _, ok in checks[1:]:
        good = pc.and_(good, ok)
    columns = {
        "action": action,
        "side": side,
        "price": pc.if_else(undefined, 0, ticks),
        "size": bits(word[4], 0, 0xFFFFFFFF),
        "order_id": pc.cast(word[2], pa.int64(), safe=False),
        "flags": pc.take(_FLAG_TABLE, bits(word[4], 32)),
        "ts_event": pc.cast(word[1], pa.int64(), safe=False),
        "ts_recv": pc.cast(word[5], pa.int64(), safe=False),
        "sequence": bits(word[6], 32, 0xFFFFFFFF),
        "instrument": ours,
    }
    if not pc.all(good).as_py():
        for index in pc.indices_nonzero(pc.invert(good)).to_pylist():
            field, reason = next((f, r) for f, r, ok in checks if not ok[index].as_py())
            quarantine.add(Quarantined(str(path), first + index, field, reason, repr(run[index])))
        columns = {name: pc.filter(array, good) for name, array in columns.items()}
    return core(columns)


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


# ------------------------------------------------------------------------------------------ CSV

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
            or len(flags) > 3
            or int(flags) > 255
            or ts_event is None
            or ts_recv is None
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
