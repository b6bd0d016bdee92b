"""The MBO core: validated MBO records, column-wise, to canonical columns.

Holds the F-fill to C bookkeeping and the packet-end handling (a record that makes no event hands
its LAST_IN_PACKET back, across chunks if need be), and the chunk every Databento reader yields.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from canonicalflow.data.normalize._databento_codes import (
    _A,
    _C,
    _CLEAR,
    _F,
    _FILL,
    _KIND_TABLE,
    _LAST,
    _M,
    _R,
    _TRADE,
)

# The canonical columns of a chunk, in this order; position is added when batches are cut, the rest stay 0.
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
        orders: dict[int, int] | None
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
