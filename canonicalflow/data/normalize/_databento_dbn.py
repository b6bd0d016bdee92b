"""Databento DBN files (`.dbn`, `.dbn.zst`) to canonical chunks.

Decodes the records, reads runs of MBO records column-wise from their raw bytes into the MBO core,
and hands MBP and trades records to the level differ, keeping file order.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import databento_dbn as dbn
import pyarrow as pa
import pyarrow.compute as pc

from canonicalflow.data.normalize._common import Quarantine, Quarantined
from canonicalflow.data.normalize._databento_codes import (
    _FLAG_TABLE,
    _INT64_MAX,
    _KIND_TABLE,
    _ORDERS,
    _PRICED,
    _SIDE_TABLE,
    _UNDEF_PRICE,
    _tick_text,
)
from canonicalflow.data.normalize._databento_mbo import _Chunk, _MboCore
from canonicalflow.data.normalize._databento_mbp import _Levels
from canonicalflow.errors import DataError


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


def _dbn_records(path: Path, chunk: int = 1 << 20) -> Iterator[list[Any]]:
    compression = dbn.Compression.ZSTD if path.name.lower().endswith(".zst") else dbn.Compression.NONE
    # The stub declares Compression's members as `str`; they are Compression values.
    decoder = dbn.DBNDecoder(compression=compression)  # type: ignore[arg-type]
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
