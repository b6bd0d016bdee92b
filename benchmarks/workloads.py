"""The comparison's workloads, as canonical events in Parquet: what every engine is given.

`canonicalflow.testing.synthetic_l2(n)` is the stream of the peers' baseline
(shared/reference/peers.md §3); `comparable` turns a real dataset into the events every engine
understands.

Each engine's runner converts these rows into its own format, so all three replay the same events.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from canonicalflow.events import EVENT_SCHEMA, EventKind
from canonicalflow.testing import L2_LOT_SIZE as LOT_SIZE
from canonicalflow.testing import L2_TICK_SIZE as TICK_SIZE
from canonicalflow.testing import synthetic_l2
from canonicalflow.testing._store import ROW_GROUP_ROWS

__all__ = [
    "LOT_SIZE",
    "TICK_SIZE",
    "comparable",
    "received_after",
    "write_comparable",
    "write_synthetic_l2",
]


def write_synthetic_l2(path: Path, n: int, seed: int = 1, chunk: int = ROW_GROUP_ROWS) -> Path:
    """Write `synthetic_l2(n)` to `path` (once: an existing file is kept), in row groups of `chunk`."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    table = synthetic_l2(n, seed)
    pq.write_table(table, partial, row_group_size=chunk)
    partial.replace(path)
    return path


_MARKET_BY_PRICE = (int(EventKind.LEVEL_SET), int(EventKind.TRADE), int(EventKind.BOOK_CLEAR))


def comparable(table: pa.Table) -> pa.Table:
    """A dataset as the events every engine understands: level sets, trades and clears, positions 1..n.

    An order-level (L3) stream becomes the price levels it implies, level by level, as the Core
    keeps them: an add, cancel, execution or modify sets its level to the new total. Top-of-book
    (BBO) and snapshot markers are dropped: the level sets already carry the book. An execution of a
    resting order also prints a trade, the aggressor on the other side, just before its level set.
    """
    rows = table.to_pylist()
    levels: dict[tuple[int, int, int], int] = {}
    orders: dict[tuple[int, int], tuple[int, int, int]] = {}  # (instrument, id) -> side, price, lots
    out: list[dict] = []

    def level(row: dict, side: int, price: int, delta: int) -> None:
        key = (row["instrument"], side, price)
        levels[key] = max(levels.get(key, 0) + delta, 0)
        out.append(
            {**row, "kind": int(EventKind.LEVEL_SET), "side": side, "price": price, "qty": levels[key]}
        )

    for row in rows:
        kind, key = row["kind"], (row["instrument"], row["order_id"])
        plain = {**row, "order_id": 0, "trade_id": row["trade_id"] if kind == EventKind.TRADE else 0}
        if kind == EventKind.ORDER_FILL:  # the print first, then the level it took from
            trade = {"kind": int(EventKind.TRADE), "side": -row["side"], "price": row["price"]}
            out.append({**plain, **trade, "trade_id": row["trade_id"]})
        if kind == EventKind.ORDER_ADD:
            orders[key] = (row["side"], row["price"], row["qty"])
            level(plain, row["side"], row["price"], row["qty"])
        elif kind in (EventKind.ORDER_CANCEL, EventKind.ORDER_FILL) and key in orders:
            side, price, lots = orders[key]
            taken = min(row["qty"], lots)
            orders[key] = (side, price, lots - taken)
            level(plain, side, price, -taken)
        elif kind == EventKind.ORDER_MODIFY and key in orders:
            side, price, lots = orders[key]
            level(plain, side, price, -lots)
            orders[key] = (row["side"], row["price"], row["qty"])
            level(plain, row["side"], row["price"], row["qty"])
        elif kind == EventKind.LEVEL_SET:
            levels[(row["instrument"], row["side"], row["price"])] = row["qty"]
            out.append(plain)
        elif kind in _MARKET_BY_PRICE:
            if kind == EventKind.BOOK_CLEAR:
                levels = {k: v for k, v in levels.items() if k[0] != row["instrument"]}
            out.append(plain)
    for position, row in enumerate(out, 1):
        row["position"] = position
    return pa.Table.from_pylist(out, schema=EVENT_SCHEMA)


def received_after(table: pa.Table, latency_ns: int) -> pa.Table:
    """Receive times rewritten as exchange time + `latency_ns`, never going back, as a backtest's
    `data.feed_latency_ns` does: for a capture whose own receive clock is off."""
    received = np.maximum.accumulate(table.column("ts_exchange").to_numpy() + latency_ns)
    index = table.schema.get_field_index("ts_receive")
    return table.set_column(index, table.schema.field(index), pa.array(received))


def write_comparable(source: Path, path: Path, received_after_ns: int | None = None) -> Path:
    """`comparable(source)` (receive times rewritten when asked) written to `path`, once."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        table = comparable(pq.read_table(source))
        if received_after_ns is not None:
            table = received_after(table, received_after_ns)
        pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS)
    return path
