"""CanonicalFlow's side of the comparison: one whole backtest, as `canonicalflow backtest` runs it.

    python benchmarks/engine_canonicalflow.py --data FILE.parquet --tick 0.01 --lot 0.001 --mode noop

The file (canonical events) becomes a dataset of a temporary store (untimed), read back in
batches as any dataset is. What is timed is
`canonicalflow.backtest.run` at its default settings: the Core with its digest chain, the journal
written to disk, the queue tracker, the orders projection, risk, the simulated L2 venue, the
equity and queue samples, the tables and the summary; the report is left out. Modes:

- replay: market data only; the strategy is never asked.
- noop: `canonicalflow.testing.NoOp`, asked on every market event, doing nothing.
- maker: `canonicalflow.testing.TouchMaker`, one lot at the best bid and ask, on hftbacktest's
  power-probability queue model (n = 2), whole fills, 1 ms order latency each way.

`--timer-ms N` also wakes the strategy every N ms of event time (not part of the comparison).

Prints one JSON line, in the peers' runners' form.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rss import peak_rss_mib

from canonicalflow.backtest import run
from canonicalflow.testing import store_table

_DATASET = "bench/INSTR/2000-01-01"
_STRATEGIES = {"replay": "NoOp", "noop": "NoOp", "maker": "TouchMaker"}


def config_of(store: Path, mode: str, timer_ms: int = 0) -> dict[str, Any]:
    cadence: dict[str, Any] = {"on": []} if mode == "replay" else {"on": ["book", "trade", "execution"]}
    if timer_ms:
        cadence = {"on": [*cadence["on"], "timer"], "timer_ms": timer_ms}
    return {
        "name": f"bench-{mode}",
        "data": {"store": str(store), "datasets": [_DATASET]},
        "venue": {
            "book": "l2",
            "fills": "whole",
            "queue_model": "power",
            "queue_exponent": 2.0,
            "latency": {"entry_ns": 1_000_000, "response_ns": 1_000_000},
        },
        "risk": {"max_inventory": 1_000_000, "max_order_qty": 1_000},
        "strategy": {"class": f"canonicalflow.testing:{_STRATEGIES[mode]}", "cadence": cadence},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="canonical events, Parquet")
    parser.add_argument("--tick", required=True, help="tick size, e.g. 0.01")
    parser.add_argument("--lot", required=True, help="lot size, e.g. 0.001")
    parser.add_argument("--mode", choices=sorted(_STRATEGIES), required=True)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the median is reported")
    parser.add_argument(
        "--timer-ms", type=int, default=0, help="also wake the strategy every N ms of event time (0: never)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        store_table(args.data, Path(scratch) / "store", _DATASET, args.tick, args.lot)
        config = config_of(Path(scratch) / "store", args.mode, args.timer_ms)
        setup = time.perf_counter() - started
        runs, result = [], None
        for i in range(args.repeat):
            started = time.perf_counter()
            result = run(config, Path(scratch) / f"run-{i}", progress=False, report=False)
            runs.append(time.perf_counter() - started)
        assert result is not None
        last = result.equity.slice(result.equity.num_rows - 1).to_pylist()[0]  # sampled at the end
    summary = result.summary
    seconds = statistics.median(runs)
    print(
        json.dumps(
            {
                "engine": "canonicalflow",
                "version": version("canonicalflow"),
                "mode": args.mode,
                "events": summary["market_events"],
                "skipped": 0,
                "seconds": seconds,
                "runs": runs,
                "events_per_s": summary["market_events"] / seconds,
                "setup_s": setup,
                "peak_rss_mib": round(peak_rss_mib(), 1),
                "final_bid": last["best_bid_value"],
                "final_ask": last["best_ask_value"],
                "orders": summary.get("orders", 0),
                "fills": summary.get("fills", 0),
                "queue_model": "power(2)" if args.mode == "maker" else "idle",
                "recorded": summary["recorded_events"],
                "folded": summary["folded_events"],
                "digest": summary["final_digest"],
            }
        )
    )


if __name__ == "__main__":
    main()
