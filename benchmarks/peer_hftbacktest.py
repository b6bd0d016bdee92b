"""hftbacktest 2.4.4 as a peer: the same canonical events replayed through its backtester.

The input is one Parquet file of CanonicalFlow canonical events. They become hftbacktest event
rows as the differential test makes them (tests/differential/_hftbacktest_side.py), but in real
units: price = ticks * tick and size = lots * lot, with the asset's tick and lot sizes set to
match. LEVEL_SET is a depth row (a snapshot row when flagged SNAPSHOT) on the bid or ask side,
TRADE a trade row flagged with the aggressor's side (none when unknown: hftbacktest then matches
nothing against it), BOOK_CLEAR a side-less depth-clear row, which clears both sides. Other kinds
are skipped and counted. A row's exchange time is `ts_exchange` (`ts_receive` when 0) and its local
time `ts_receive`, unshifted; hftbacktest's own `correct_event_order` then orders the rows for its
exchange processor by venue time and for its local one by receive time (ties in file order),
duplicating the rows whose places differ (Binance trades carry a different clock than depth).

The backtest: `HashMapMarketDepthBacktest`, `no_partial_fill_exchange`, `power_prob_queue_model(2)`,
`constant_order_latency(1 ms, 1 ms)`, linear asset, zero fees.

Modes, each one njit function: `replay` is a single `hbt.elapse(span)` over the whole data, with
no strategy; `noop` wakes with `wait_next_feed` and reads the best bid and ask; `maker` quotes one
GTX (post-only) lot at the best bid and one at the best ask, cancelling a quote once the best moves
away from it (the same rules as the Nautilus runner). `wait_next_feed` applies all the rows of one
receive time before it returns, so the strategy is called once per distinct `ts_receive`
(`callbacks`), not once per event: the same on the synthetic file, 17 times fewer on Binance's.

What is timed: the njit call alone, on a fresh backtest each run. Reading the file, building and
ordering the rows, constructing the asset and the backtest, and the numba compilation (a warm-up
on the first 1,000 rows) are not timed (`setup_s` is everything before the first timed run). The
JSON line printed last gives the median of the runs, the local depth's best bid and ask at the
end, and in maker mode the orders submitted and the fills (hftbacktest's own count).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from rss import peak_rss_mib

try:
    import hftbacktest
    import numpy as np
    import pyarrow.parquet as pq
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_CLEAR_EVENT,
        DEPTH_EVENT,
        DEPTH_SNAPSHOT_EVENT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
        BacktestAsset,
        HashMapMarketDepthBacktest,
    )
    from hftbacktest.data.validation import correct_event_order, validate_event_order
    from hftbacktest.types import event_dtype
    from numba import njit
except ImportError as exc:  # pragma: no cover - depends on the environment
    sys.exit(f"peer_hftbacktest.py needs hftbacktest==2.4.4 ({exc}): pip install -e '.[peers]'")

EXPECTED_VERSION = "2.4.4"
# canonicalflow.events: EventKind codes and the SNAPSHOT flag bit (stable: stored in every dataset)
BOOK_CLEAR, LEVEL_SET, TRADE = 5, 6, 9
SNAPSHOT_FLAG = 2
LATENCY_NS = 1_000_000
QUEUE_N = 2.0
QUEUE_MODEL = "power_prob_queue_model(2.0)"
WARMUP_ROWS = 1_000
_COLUMNS = ["kind", "ts_exchange", "ts_receive", "flags", "side", "price", "qty"]
# hftbacktest.order codes
_NEW, _FILLED, _NO_REQUEST, _GTX, _LIMIT = 1, 3, 0, 1, 0
_NO_BID, _NO_ASK = -(2**62), 2**62  # an empty side reads i64::MIN (bid) or i64::MAX (ask) ticks
_TIMEOUT_NS = 10**15  # wait_next_feed's timeout: far beyond any gap in the data


# ------------------------------------------------------------------------------ the data
def load(path: Path, tick: float, lot: float) -> tuple[np.ndarray, int, int]:
    """hftbacktest rows for the file's market events, ordered by `correct_event_order`.

    Returns (rows, events, skipped): `events` counts the market events converted, before
    `correct_event_order` duplicates the rows whose venue and receive orders disagree.
    """
    table = pq.read_table(path, columns=_COLUMNS)
    cols = {name: table.column(name).to_numpy() for name in _COLUMNS}
    kind = cols["kind"]
    keep = (kind == LEVEL_SET) | (kind == TRADE) | (kind == BOOK_CLEAR)
    skipped = int(len(kind) - keep.sum())
    kind, flags, side = kind[keep], cols["flags"][keep], cols["side"][keep]
    side_bit = np.where(side > 0, BUY_EVENT, np.where(side < 0, SELL_EVENT, 0)).astype(np.uint64)
    depth_code = np.where(flags & SNAPSHOT_FLAG, DEPTH_SNAPSHOT_EVENT, DEPTH_EVENT).astype(np.uint64)
    ev = np.where(
        kind == LEVEL_SET,
        depth_code | side_bit,
        np.where(kind == TRADE, TRADE_EVENT | side_bit, DEPTH_CLEAR_EVENT),
    ).astype(np.uint64)
    ts_receive = cols["ts_receive"][keep]
    ts_exchange = cols["ts_exchange"][keep]
    rows = np.zeros(len(ev), event_dtype)
    rows["ev"] = ev
    rows["exch_ts"] = np.where(ts_exchange > 0, ts_exchange, ts_receive)
    rows["local_ts"] = ts_receive
    rows["px"] = cols["price"][keep] * tick
    rows["qty"] = cols["qty"][keep] * lot
    return order_rows(rows), len(rows), skipped


def order_rows(rows: np.ndarray) -> np.ndarray:
    """The rows in hftbacktest's processing order, by its own `correct_event_order`, validated.

    Each index array gets one spare element: `correct_event_order` reads one index past the end
    (unchecked under numba) before it tests its bounds.
    """
    if len(rows) == 0:
        return rows
    spare = np.zeros(1, np.int64)
    by_exch = np.concatenate([np.argsort(rows["exch_ts"], kind="mergesort"), spare])
    by_local = np.concatenate([np.argsort(rows["local_ts"], kind="mergesort"), spare])
    ordered = correct_event_order(rows, by_exch, by_local)
    validate_event_order(ordered)
    return np.ascontiguousarray(ordered)


def build_backtest(rows: np.ndarray, tick: float, lot: float) -> Any:
    """A fresh backtest over `rows` (untimed). The caller keeps `rows` alive: hftbacktest reads
    them through a pointer."""
    asset = (
        BacktestAsset()
        .data([rows])
        .linear_asset(1.0)
        .constant_order_latency(LATENCY_NS, LATENCY_NS)
        .power_prob_queue_model(QUEUE_N)
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(tick)
        .lot_size(lot)
    )
    return HashMapMarketDepthBacktest([asset])


# ------------------------------------------------------------------------------ the modes
@njit(cache=False)
def replay(hbt: Any, span: int) -> tuple[int, int, int, int, int, int]:  # pragma: no cover - numba
    """The whole data in one `elapse`: the backtester's own replay speed, nothing else."""
    rc = hbt.elapse(span)
    depth = hbt.depth(0)
    return rc, 0, 0, 0, depth.best_bid_tick, depth.best_ask_tick


@njit(cache=False)
def noop(hbt: Any, span: int) -> tuple[int, int, int, int, int, int]:  # pragma: no cover - numba
    """Wake on every local feed row and read the best bid and ask, deciding nothing."""
    wakeups = 0
    total = 0
    rc = 2
    while rc == 2:
        rc = hbt.wait_next_feed(False, _TIMEOUT_NS)
        if rc == 2:
            wakeups += 1
            depth = hbt.depth(0)
            total += depth.best_bid_tick + depth.best_ask_tick  # read, so nothing is optimised away
    depth = hbt.depth(0)
    return rc, wakeups, 0, total & 1, depth.best_bid_tick, depth.best_ask_tick


@njit(cache=False)
def maker(hbt: Any, lot: float) -> tuple[int, int, int, int, int, int]:  # pragma: no cover - numba
    """One GTX lot at the best bid and one at the best ask. On each feed row and per side: a
    finished quote (filled, canceled, expired) is forgotten, a live quote off the best is
    canceled, and a side with nothing live or in flight gets a new quote at the best."""
    tick_size = hbt.depth(0).tick_size
    buy_id = 0
    sell_id = 0
    next_id = 1
    orders = 0
    fills = 0
    wakeups = 0
    rc = 2
    while rc == 2:
        rc = hbt.wait_next_feed(False, _TIMEOUT_NS)
        if rc != 2:
            break
        wakeups += 1
        depth = hbt.depth(0)
        bid = depth.best_bid_tick
        ask = depth.best_ask_tick
        book = hbt.orders(0)
        for is_buy in (True, False):
            oid = buy_id if is_buy else sell_id
            best = bid if is_buy else ask
            valid = bid > _NO_BID if is_buy else ask < _NO_ASK
            if oid != 0:
                order = book.get(oid)
                if order is None:  # pragma: no cover - never cleared while tracked
                    oid = 0
                elif order.req == _NO_REQUEST:
                    if order.status == _NEW:
                        if order.price_tick != best:
                            hbt.cancel(0, oid, False)
                    else:
                        if order.status == _FILLED:
                            fills += 1
                        oid = 0
            if oid == 0 and valid:
                oid = next_id
                next_id += 1
                orders += 1
                if is_buy:
                    hbt.submit_buy_order(0, oid, best * tick_size, lot, _GTX, _LIMIT, False)
                else:
                    hbt.submit_sell_order(0, oid, best * tick_size, lot, _GTX, _LIMIT, False)
            if is_buy:
                buy_id = oid
            else:
                sell_id = oid
        hbt.clear_inactive_orders(0)
    depth = hbt.depth(0)
    # hftbacktest's own count includes the fills that arrive after the last wake-up
    trades = hbt.state_values(0).num_trades
    if trades < fills or trades > fills + 2:  # pragma: no cover - a fill went unseen
        return -1, wakeups, orders, fills, depth.best_bid_tick, depth.best_ask_tick
    return rc, wakeups, orders, trades, depth.best_bid_tick, depth.best_ask_tick


def run_once(mode: str, hbt: Any, span: int, lot: float) -> tuple[int, int, int, int, int, int]:
    """Call the mode's njit function: (rc, wake-ups, orders, fills, best bid tick, best ask tick)."""
    if mode == "replay":
        return replay(hbt, span)
    if mode == "noop":
        return noop(hbt, span)
    return maker(hbt, lot)


def _price(ticks: int, tick: str, empty: bool) -> float | None:
    return None if empty else float(ticks * Decimal(tick))


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, convert the file once, run the mode `--repeat` times, print the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="canonical events (Parquet)")
    parser.add_argument("--tick", required=True, help="price of one tick, e.g. 0.01")
    parser.add_argument("--lot", required=True, help="size of one lot, e.g. 0.001")
    parser.add_argument("--mode", choices=("replay", "noop", "maker"), required=True)
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs, each on a fresh backtest (default 3)"
    )
    args = parser.parse_args(argv)
    if hftbacktest.__version__ != EXPECTED_VERSION:
        print(f"warning: hftbacktest {hftbacktest.__version__}, not {EXPECTED_VERSION}", file=sys.stderr)
    tick, lot = float(args.tick), float(args.lot)

    start = time.perf_counter()
    rows, events, skipped = load(args.data, tick, lot)
    if not len(rows):
        sys.exit(f"{args.data}: no LEVEL_SET, TRADE or BOOK_CLEAR events")
    first = min(int(rows["exch_ts"].min()), int(rows["local_ts"].min()))
    span = max(int(rows["exch_ts"].max()), int(rows["local_ts"].max())) - first + 1
    # numba compiles on the first call: warm up on a small slice, so no timed run includes it
    warm = np.ascontiguousarray(rows[:WARMUP_ROWS])  # a prefix of ordered rows is ordered
    hbt = build_backtest(warm, tick, lot)
    run_once(args.mode, hbt, span, lot)
    hbt.close()

    runs: list[float] = []
    setup_s = 0.0
    result: tuple[int, ...] = ()
    for _ in range(args.repeat):
        hbt = build_backtest(rows, tick, lot)
        t0 = time.perf_counter()
        if not runs:
            setup_s = t0 - start
        out = run_once(args.mode, hbt, span, lot)
        runs.append(time.perf_counter() - t0)
        hbt.close()
        if out[0] == -1:
            raise RuntimeError(f"hftbacktest counted fills the strategy did not see: {out}")
        if out[0] not in (0, 1):
            raise RuntimeError(f"hftbacktest stopped with code {out[0]}")
        if result and out != result:
            raise RuntimeError(f"runs differ: {out} vs {result}")
        result = out

    _, wakeups, orders, fills, bid, ask = result
    # wait_next_feed applies all the local rows of one receive time at once: one wake-up per
    # receive time, except that the last one is reported as the end of the data (rc 1) instead of
    # a feed when no exchange row or order is left after it.
    local = (rows["ev"] & np.uint64(LOCAL_EVENT)) != 0
    times = int(np.unique(rows["local_ts"][local]).size)
    if args.mode != "replay" and wakeups not in (times - 1, times):
        raise RuntimeError(f"the strategy woke {wakeups} times for {times} receive times")
    seconds = statistics.median(runs)
    report = {
        "engine": "hftbacktest",
        "version": hftbacktest.__version__,
        "mode": args.mode,
        "events": events,
        "skipped": skipped,
        "seconds": round(seconds, 6),
        "runs": [round(r, 6) for r in runs],
        "events_per_s": round(events / seconds, 1),
        "setup_s": round(setup_s, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "final_bid": _price(bid, args.tick, bid <= _NO_BID),
        "final_ask": _price(ask, args.tick, ask >= _NO_ASK),
        "orders": orders if args.mode == "maker" else 0,
        "fills": fills if args.mode == "maker" else 0,
        "callbacks": wakeups,
        "queue_model": QUEUE_MODEL,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
