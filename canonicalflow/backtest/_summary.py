"""A run's headline numbers, computed from its five tables and written as `summary.json`.

Every value is a plain JSON value: ints, floats, strings, lists, dicts and None. None stands for
"undefined here" (no fills, a zero denominator, a NaN input), so the file never holds NaN or
Infinity, which JSON lacks. Money is in currency, prices in price units, sizes in lots.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["pnl_curve", "read_summary", "summarize", "write_summary"]

NS_PER_YEAR = 365 * 86_400 * 1_000_000_000  # Sharpe is annualised on a 365-day year
MAKER = 1

META: dict[str, Callable[[Any], object]] = {  # the run facts the tables do not hold, and their types
    "name": str,
    "fingerprint": str,
    "market_events": int,
    "folded_events": int,  # market events the Core folded in batches (canonicalflow.backtest._lane)
    "recorded_events": int,
    "elapsed_s": float,
    "final_position": int,
    "final_digest": str,
    "sample_ns": int,
}


def summarize(tables: Mapping[str, pa.Table], meta: Mapping[str, Any]) -> dict[str, object]:
    """The summary of one run: `meta`'s facts, copied, and the metrics of its tables (schemas in `_tables`).

    `sharpe` is the Sharpe ratio of the run's PnL increments between equity samples, mean / sample
    std (ddof=1), times sqrt(samples per 365-day year). It has no capital in it, so it compares runs
    of one strategy, not strategies with returns on capital. `max_drawdown` is the largest fall of
    the total PnL from its running peak, in currency, with the timestamps of that peak and trough.
    """
    summary: dict[str, object] = {key: convert(meta[key]) for key, convert in META.items()}
    elapsed = float(meta["elapsed_s"])
    summary["events_per_s"] = _finite(int(meta["market_events"]) / elapsed) if elapsed else None
    summary.update(_holdings(tables["holdings"]))
    summary.update(_curve(pnl_curve(tables["equity"]), int(meta["sample_ns"])))
    summary.update(_orders_and_fills(tables["orders"], tables["fills"]))
    summary["queue"] = _queue(tables["orders"], tables["fills"], tables["queue"])
    return summary


def write_summary(path: Path, summary: dict) -> None:
    """Pretty JSON with sorted keys, so two runs' summaries diff line by line; NaN is refused."""
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n")


def read_summary(path: Path) -> dict:
    return json.loads(path.read_text())


def pnl_curve(equity: pa.Table) -> pa.Table:
    """The run's totals per sample, in `ts` order: `ts`, `pnl`, `realized`, `unrealized`, `fees`.

    Each is the sum over instruments at that `ts`. A sample whose total PnL is not finite (an
    instrument without a mark) is left out whole: a partial sum would be a false jump in the curve.
    """
    columns = {name: f"{name}_value" for name in ("pnl", "realized", "unrealized", "fees")}
    grouped = equity.group_by("ts").aggregate([(source, "sum") for source in columns.values()])
    curve = pa.table(
        {"ts": grouped["ts"], **{name: grouped[f"{source}_sum"] for name, source in columns.items()}}
    )
    return curve.filter(pc.is_finite(curve["pnl"])).sort_by("ts")


def _holdings(holdings: pa.Table) -> dict[str, object]:
    """Run totals and one entry per instrument, in instrument order, from the final holdings."""
    per_instrument = [
        {
            "symbol": row["symbol"],
            "inventory": row["inventory"],
            "pnl": _finite(row["pnl_value"]),
            "realized": _finite(row["realized_value"]),
            "unrealized": _finite(row["unrealized_value"]),
            "fees": _finite(row["fees_value"]),
            "volume": row["volume"],
            "traded": _finite(row["traded_value"]),
        }
        for row in holdings.sort_by("instrument").to_pylist()
    ]
    return {
        "pnl": _sum(holdings["pnl_value"]),
        "realized": _sum(holdings["realized_value"]),
        "unrealized": _sum(holdings["unrealized_value"]),
        "fees": _sum(holdings["fees_value"]),
        "turnover": _sum(holdings["traded_value"]),
        "volume": pc.sum(holdings["volume"], min_count=0).as_py(),
        "per_instrument": per_instrument,
    }


def _curve(curve: pa.Table, sample_ns: int) -> dict[str, object]:
    pnl = curve["pnl"].combine_chunks()
    return {"sharpe": _sharpe(pnl, sample_ns), **_drawdown(curve["ts"].combine_chunks(), pnl)}


def _sharpe(pnl: pa.Array, sample_ns: int) -> float | None:
    """None with fewer than two increments, or when they do not vary (std 0, up to rounding)."""
    increments = pc.pairwise_diff(pnl)[1:]
    if len(increments) < 2 or sample_ns <= 0:
        return None
    mean = pc.mean(increments).as_py()
    std = pc.stddev(increments, ddof=1).as_py()
    if std <= 1e-12 * abs(mean):  # equal increments leave float dust, not a risk to divide by
        return None
    return _finite(mean / std * math.sqrt(NS_PER_YEAR / sample_ns))


def _drawdown(ts: pa.Array, pnl: pa.Array) -> dict[str, object]:
    """The deepest fall from the running peak; at equal depth, the first. None without a curve.

    It starts at the last sample at the peak's value before the trough, where the fall began.
    """
    none: dict[str, object] = {
        "max_drawdown": None,
        "max_drawdown_start_ts": None,
        "max_drawdown_end_ts": None,
    }
    if len(pnl) == 0:
        return none
    peak = pc.cumulative_max(pnl)
    falls = pc.subtract(peak, pnl)
    deepest = pc.max(falls).as_py()
    if deepest <= 0:
        return {**none, "max_drawdown": 0.0}
    end = pc.index(falls, deepest).as_py()
    at_peak = pc.indices_nonzero(pc.equal(pnl[: end + 1], peak[end]))
    start = at_peak[len(at_peak) - 1].as_py()
    return {
        "max_drawdown": deepest,
        "max_drawdown_start_ts": ts[start].as_py(),
        "max_drawdown_end_ts": ts[end].as_py(),
    }


def _orders_and_fills(orders: pa.Table, fills: pa.Table) -> dict[str, object]:
    filled_lots = pc.sum(fills["qty"], min_count=0).as_py()
    maker_lots = pc.sum(pc.filter(fills["qty"], pc.equal(fills["liquidity"], MAKER)), min_count=0).as_py()
    with_mid = fills.filter(pc.is_finite(fills["mid_value"]))
    captured = pc.multiply(
        pc.cast(with_mid["side"], pa.float64()), pc.subtract(with_mid["mid_value"], with_mid["price_value"])
    )
    return {
        "orders": orders.num_rows,
        "fills": fills.num_rows,
        "fill_ratio": _ratio(pc.sum(orders["filled"]).as_py(), pc.sum(orders["qty"]).as_py()),
        "maker_share": _ratio(maker_lots, filled_lots),
        "rejected": pc.sum(pc.equal(orders["status"], "Rejected"), min_count=0).as_py(),
        "spread_captured": _ratio(
            pc.sum(pc.multiply(captured, pc.cast(with_mid["qty"], pa.float64()))).as_py(),
            pc.sum(with_mid["qty"]).as_py(),
        ),
    }


def _queue(orders: pa.Table, fills: pa.Table, queue: pa.Table) -> dict[str, object]:
    """Lots ahead of our orders when they came to rest: all of them, and those behind each maker fill.

    Comparing the two says how much the place mattered: a fill reaches us after the trade that
    made it, so the place just before a fill is always the front and says nothing."""
    at_ack = orders["queue_ahead_at_ack"]
    at_fill = pc.filter(fills["queue_ahead"], pc.equal(fills["liquidity"], MAKER))
    return {
        **_mean_median("ahead_at_ack", at_ack),
        **_mean_median("filled_ahead_at_ack", at_fill),
        "samples": queue.num_rows,
    }


def _mean_median(prefix: str, values: pa.ChunkedArray | pa.Array) -> dict[str, float | None]:
    finite = pc.filter(values, pc.is_finite(values))
    if len(finite) == 0:
        return {f"{prefix}_mean": None, f"{prefix}_median": None}
    median = pc.quantile(finite, q=0.5, interpolation="linear")[0].as_py()
    return {f"{prefix}_mean": _finite(pc.mean(finite).as_py()), f"{prefix}_median": _finite(median)}


def _sum(values: pa.ChunkedArray) -> float | None:
    """0.0 for no rows; None when a NaN makes the total undefined."""
    return _finite(pc.sum(values, min_count=0).as_py())


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return _finite(numerator / denominator)


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)
