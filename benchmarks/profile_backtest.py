"""Where a benchmark backtest spends its time: cProfile of one `run`, the top functions by own time.

    python benchmarks/profile_backtest.py --mode replay [--data FILE.parquet] [--top 30]

The same run `engine_canonicalflow.py` times (same configuration, same dataset store), once to
warm the file cache and once under cProfile. The profiler adds its own cost to every Python call,
so the shares matter here, not the total: time without it comes from `engine_canonicalflow.py`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
from pathlib import Path

from engine_canonicalflow import _DATASET, _STRATEGIES, config_of

from canonicalflow.backtest import run
from canonicalflow.testing import store_table

_DEFAULT_DATA = Path(__file__).parent / ".cache" / "synthetic-1000000.parquet"  # made by compare.py


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=_DEFAULT_DATA, help="canonical events, Parquet")
    parser.add_argument("--tick", default="0.01", help="tick size (default: the synthetic data's)")
    parser.add_argument("--lot", default="0.001", help="lot size (default: the synthetic data's)")
    parser.add_argument("--mode", choices=sorted(_STRATEGIES), default="replay")
    parser.add_argument("--top", type=int, default=30, help="how many functions to list")
    args = parser.parse_args()
    if not args.data.exists():
        parser.error(f"{args.data} does not exist: `python benchmarks/compare.py` makes it, or pass --data")
    with tempfile.TemporaryDirectory() as scratch:
        store = Path(scratch) / "store"
        store_table(args.data, store, _DATASET, args.tick, args.lot)
        config = config_of(store, args.mode)
        run(config, Path(scratch) / "warm", progress=False, report=False)
        profile = cProfile.Profile()
        profile.runcall(run, config, Path(scratch) / "profiled", progress=False, report=False)
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
