"""Normalization rows/s per vendor format, and book replay events/s (L2 and L3) on the real data.

    python benchmarks/market_data.py [--data ../shared/data] [--repeat 3]

Normalization reads each sample file in ../shared/data through its format's reader (the same code
`canonicalflow data ingest` runs, without the quality checks or Parquet writing) and counts source
rows per second (binary DBN files count records as events) and events per second. Book replay applies the normalized events to an L3 book (order-level formats) or
an L2 book (price-level formats), best of `--repeat` runs. Peak RSS is this process's own peak.
Measured, never asserted.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sys
import time
from pathlib import Path

from canonicalflow.book import L2Book, L3Book, apply_l2, apply_l3
from canonicalflow.data import FORMATS
from canonicalflow.data._formats import Source
from canonicalflow.data.normalize import Quarantine
from canonicalflow.events import iter_events

# (format, files under the data directory, tick size, lot size)
SAMPLES = [
    (
        "lobster",
        (
            "lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv.gz",
            "lobster/AMZN_2012-06-21_34200000_57600000_orderbook_1.csv.gz",
        ),
        "0.0001",
        "1",
    ),
    (
        "lobster",
        (
            "lobster/GOOG_2012-06-21_34200000_57600000_message_1.csv.gz",
            "lobster/GOOG_2012-06-21_34200000_57600000_orderbook_1.csv.gz",
        ),
        "0.0001",
        "1",
    ),
    ("tardis-book", ("nautilus/tardis/deribit_incremental_book_L2_BTC-PERPETUAL.csv",), "0.5", "10"),
    ("binance", ("hftbacktest_binance/usdm_btcusdt_20240808.gz",), "0.1", "0.001"),
    ("binance", ("hftbacktest_binance/spot_btcusdt_20240808.gz",), "0.01", "0.000001"),
    ("binance", ("hftbacktest_binance/cm_btcusd_perp_20240808.gz",), "0.1", "1"),
    ("databento-mbo", ("databento_xnas_arl/mbo.csv.gz",), "0.0001", "1"),
    ("databento-mbo", ("nautilus/databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst",), "0.25", "1"),
    (
        "databento-mbp",
        ("nautilus/databento/esu4_futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst",),
        "0.25",
        "1",
    ),
]


def _source_rows(path: Path) -> int:
    if path.name.endswith(".zst"):
        return 0  # binary: counted as events instead
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:  # type: ignore[operator]
        return sum(1 for _ in f)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"market data, Python {sys.version.split()[0]}, data in {args.data}")
    print(
        f"{'format':<18} {'file':<44} {'rows':>8} {'events':>8} {'rows/s':>10} {'book':>4} {'book ev/s':>10}"
    )
    for fmt_name, files, tick, lot in SAMPLES:
        fmt = FORMATS.get(fmt_name)
        paths = tuple(args.data / f for f in files)
        if fmt is None or not all(p.exists() for p in paths):
            print(f"{fmt_name:<14} {Path(files[0]).name[:40]:<40} skipped (format or file missing)")
            continue
        rows = _source_rows(paths[0])
        best, batches = 0.0, []
        for _ in range(args.repeat):
            started = time.perf_counter()
            batches = list(fmt.read(Source(paths, 1, tick, lot), Quarantine()))
            best = max(best, 1 / (time.perf_counter() - started))
        events = [ev for batch in batches for ev in iter_events(batch)]
        rate, event_rate = (rows or len(events)) * best, len(events) * best
        level = 3 if fmt.book_level == 3 else 2
        apply, make = (apply_l3, L3Book) if level == 3 else (apply_l2, L2Book)
        book_best = 0.0
        for _ in range(args.repeat):
            book = make()
            started = time.perf_counter()
            for ev in events:
                apply(book, ev)  # type: ignore[arg-type]
            book_best = max(book_best, len(events) / (time.perf_counter() - started))
        print(
            f"{fmt_name:<14} {Path(files[0]).name[:40]:<40} {rows:>7,} {len(events):>8,} {rate / 1e3:>6,.0f} k "
            f"{event_rate / 1e3:>7,.0f} k {'L' + str(level):>4} {book_best / 1e3:>7,.0f} k"
        )
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
