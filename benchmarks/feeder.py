"""The historical feeder's throughput and peak memory against dataset length.

    python benchmarks/feeder.py [--lengths 1000000,4000000] [--dir DIR]

Writes two Parquet datasets of seeded synthetic events per length (half the events each), then,
in a fresh process per length, merges them with `canonicalflow.data.feed` and counts the events.
Peak RSS should not grow with length: the feeder holds one batch per dataset. Measured, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from canonicalflow.events import EVENT_SCHEMA, to_record_batch
from canonicalflow.testing import synthetic_stream

_MEASURE = """
import json, sys, time
from canonicalflow.data import feed
started = time.perf_counter()
count = sum(1 for _ in feed(sys.argv[1:]))
elapsed = time.perf_counter() - started
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"events": count, "seconds": elapsed, "rss_mib": peak_kib / 1024}))
"""


def _write(path: Path, seed: int, length: int) -> None:
    with pq.ParquetWriter(path, EVENT_SCHEMA) as writer:
        chunk = []
        for ev in synthetic_stream(seed, length):
            chunk.append(ev)
            if len(chunk) == 100_000:
                writer.write_batch(to_record_batch(chunk))
                chunk = []
        if chunk:
            writer.write_batch(to_record_batch(chunk))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lengths", default="1000000,4000000")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        print(f"{'events':>10} {'write s':>8} {'merge ev/s':>11} {'peak RSS':>9}")
        for length in (int(n) for n in args.lengths.split(",")):
            paths = [Path(scratch) / f"{length}-{i}.parquet" for i in (1, 2)]
            started = time.perf_counter()
            for seed, path in enumerate(paths, 1):
                _write(path, seed, length // 2)
            written = time.perf_counter() - started
            out = subprocess.run(
                [sys.executable, "-c", _MEASURE, *map(str, paths)], capture_output=True, text=True, check=True
            )
            result = json.loads(out.stdout)
            rate = result["events"] / result["seconds"]
            print(
                f"{result['events']:>10,} {written:>8.1f} {rate / 1e3:>9,.0f} k {result['rss_mib']:>7.1f} MiB"
            )


if __name__ == "__main__":
    main()
