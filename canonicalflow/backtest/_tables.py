"""The Arrow schemas of a run's tables: what `orders`, `fills`, `holdings`, `equity` and `queue` hold.

Integers are the engine's own units (ticks, lots, minimal currency units, nanoseconds) and are
exact; every `*_value` column is the same quantity in prices, quantities or currency as a
float64, for plots and DataFrames. Sides are +1 (buy) and -1 (sell).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from canonicalflow.errors import DataError

__all__ = ["EQUITY", "FILLS", "HOLDINGS", "ORDERS", "QUEUE", "SCHEMAS", "check_run_dir"]

ORDERS = pa.schema(
    [
        ("client_order_id", pa.int64()),
        ("instrument", pa.int32()),
        ("symbol", pa.string()),
        ("side", pa.int8()),
        ("order_type", pa.int8()),  # OrderType: 0 limit, 1 market
        ("tif", pa.int8()),  # TimeInForce
        ("price", pa.int64()),  # ticks: the last working price
        ("price_value", pa.float64()),
        ("qty", pa.int64()),  # lots: the last working size
        ("filled", pa.int64()),  # lots
        ("status", pa.string()),  # the order-lifecycle state at the end of the run
        ("submitted_ts", pa.int64()),  # the first dispatch, on our clock
        ("acked_ts", pa.int64()),  # 0 when never acknowledged
        ("final_ts", pa.int64()),  # 0 when still working at the end
        ("replaces", pa.int32()),  # replace requests dispatched
        ("reject_reason", pa.int32()),  # the venue's reason when rejected, else 0
        ("queue_ahead_at_ack", pa.float64()),  # lots ahead when it came to rest; NaN if it never rested
    ]
)

FILLS = pa.schema(
    [
        ("position", pa.int64()),  # the FILL event's stream position
        ("ts_exchange", pa.int64()),
        ("ts_receive", pa.int64()),
        ("instrument", pa.int32()),
        ("symbol", pa.string()),
        ("client_order_id", pa.int64()),
        ("trade_id", pa.int64()),
        ("side", pa.int8()),
        ("price", pa.int64()),
        ("price_value", pa.float64()),
        ("qty", pa.int64()),
        ("qty_value", pa.float64()),
        ("liquidity", pa.int8()),  # 1 maker, 2 taker
        ("fee", pa.int64()),  # minimal currency units; a rebate is negative
        ("fee_value", pa.float64()),
        ("mid_value", pa.float64()),  # our book's mid when the fill reached us; NaN without both sides
        ("inventory_after", pa.int64()),  # lots held after this fill
        ("queue_ahead", pa.float64()),  # lots ahead when its order came to rest; NaN for a taker
    ]
)

HOLDINGS = pa.schema(
    [
        ("instrument", pa.int32()),
        ("symbol", pa.string()),
        ("inventory", pa.int64()),  # lots held, signed
        ("qty_value", pa.float64()),
        ("avg_price_value", pa.float64()),  # NaN when flat
        ("mark_value", pa.float64()),  # what it is valued at: the mid, else the last trade; NaN without
        ("realized_value", pa.float64()),
        ("unrealized_value", pa.float64()),
        ("fees_value", pa.float64()),
        ("pnl_value", pa.float64()),  # realized + unrealized - fees; NaN when held and unmarked
        ("volume", pa.int64()),  # lots traded
        ("traded_value", pa.float64()),  # notional traded, in currency
        ("fills", pa.int64()),
    ]
)

EQUITY = pa.schema(  # one row per instrument per sample; a run's PnL at `ts` is the sum over instruments
    [
        ("ts", pa.int64()),
        ("instrument", pa.int32()),
        ("symbol", pa.string()),
        ("best_bid_value", pa.float64()),
        ("best_ask_value", pa.float64()),
        ("mid_value", pa.float64()),
        ("inventory", pa.int64()),  # lots held, signed
        ("realized_value", pa.float64()),
        ("unrealized_value", pa.float64()),
        ("fees_value", pa.float64()),
        ("pnl_value", pa.float64()),
    ]
)

QUEUE = pa.schema(  # one row per resting order per sample
    [
        ("ts", pa.int64()),
        ("instrument", pa.int32()),
        ("client_order_id", pa.int64()),
        ("side", pa.int8()),
        ("price", pa.int64()),
        ("price_value", pa.float64()),
        ("ahead", pa.float64()),  # lots ahead of ours
        ("level", pa.float64()),  # lots shown at our price
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "orders": ORDERS,
    "fills": FILLS,
    "holdings": HOLDINGS,
    "equity": EQUITY,
    "queue": QUEUE,
}

_RENAMED = {"holdings": "positions"}  # table: what an earlier version called it


def check_run_dir(run_dir: Path) -> None:
    """Every table and the summary are there; else a DataError saying what is missing, and why
    when an earlier version wrote the run under another name."""
    missing = [name for name in SCHEMAS if not (run_dir / f"{name}.parquet").is_file()]
    if not (run_dir / "summary.json").is_file():
        missing.append("summary")
    if not missing:
        return
    files = ", ".join(f"{name}.json" if name == "summary" else f"{name}.parquet" for name in missing)
    older = [
        f"{_RENAMED[name]}.parquet"
        for name in missing
        if (run_dir / f"{_RENAMED.get(name, '')}.parquet").is_file()
    ]
    why = f" ({', '.join(older)}: written by an earlier version; run the backtest again)" if older else ""
    raise DataError(f"{run_dir}: no {files}: not a complete run directory{why}")
