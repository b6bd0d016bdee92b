"""Journal write and read throughput per fsync policy, and peak RSS while streaming a journal back.

Writes synthetic market events (adds, cancels, trades, BBOs: every field an int) in fixed-size
batches, per FsyncPolicy, then streams them back as Arrow batches and as Event records. Peak RSS is
measured in a fresh subprocess per journal size, so it shows what streaming costs, not what writing
did; it should be flat in the journal's length. Prints measurements, never asserts them.

    python benchmarks/journal_io.py [--events N] [--batch B] [--rss-events N ...] [--dir D]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from canonicalflow.events import EVENT_SCHEMA, Event, EventKind, to_record_batch
from canonicalflow.journal import FsyncPolicy, JournalReader, JournalWriter

_KINDS = (EventKind.ORDER_ADD, EventKind.ORDER_CANCEL, EventKind.TRADE, EventKind.BBO)


def _template(size: int) -> pa.RecordBatch:
    """One batch of `size` events at positions 0..size-1; later batches shift positions and times."""
    events = []
    for p in range(size):
        kind = _KINDS[p * 7 % 4]
        events.append(
            Event(
                position=p,
                kind=int(kind),
                ts_exchange=1_764_000_000_000_000_000 + p * 1_000,
                ts_receive=1_764_000_000_000_000_000 + p * 1_000 + 40_000,
                instrument=1,
                sequence=p,
                order_id=(p * 2_654_435_761) % 1_000_003 if kind != EventKind.BBO else 0,
                side=(1, -1)[p % 2] if kind != EventKind.BBO else 0,
                price=10_000 + p % 50 if kind != EventKind.BBO else 0,
                qty=1 + p % 9 if kind != EventKind.BBO else 0,
                bid_price=9_999 if kind == EventKind.BBO else 0,
                bid_qty=12 if kind == EventKind.BBO else 0,
                ask_price=10_001 if kind == EventKind.BBO else 0,
                ask_qty=9 if kind == EventKind.BBO else 0,
                trade_id=p if kind == EventKind.TRADE else 0,
            )
        )
    return to_record_batch(events)


def _batches(template: pa.RecordBatch, total: int):
    """`total` events as consecutive copies of `template`, positions and times shifted; one at a time."""
    size = template.num_rows
    for start in range(0, total, size):
        shift = pa.scalar(start, pa.int64())
        columns = [
            pc.add(column, shift) if name in ("position", "sequence") else column
            for name, column in zip(EVENT_SCHEMA.names, template.columns, strict=True)
        ]
        yield pa.RecordBatch.from_arrays(columns, schema=EVENT_SCHEMA).slice(0, min(size, total - start))


def _write(path: Path, template: pa.RecordBatch, total: int, policy: FsyncPolicy, every: int) -> float:
    batches = list(_batches(template, total))  # built before the clock starts
    started = time.perf_counter()
    with JournalWriter(path, policy, fsync_every=every) as writer:
        for batch in batches:
            writer.append(batch)
    return time.perf_counter() - started


def _read(path: Path) -> dict[str, float]:
    started = time.perf_counter()
    reader = JournalReader(path)
    rows = sum(batch.num_rows for batch in reader.batches())
    batches_s = time.perf_counter() - started
    started = time.perf_counter()
    count = sum(1 for _ in reader.events())
    events_s = time.perf_counter() - started
    assert rows == count == reader.num_events
    return {"batches_s": batches_s, "events_s": events_s, "bytes": reader.total_bytes, "events": rows}


def _memory_mib(field: str) -> float:
    """A field of /proc/self/status in MiB: VmRSS now, VmHWM the peak since exec.

    Not `ru_maxrss`: on Linux it carries over the parent's peak through fork and exec.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stream_child(path: str) -> None:
    """Runs in a subprocess: stream the journal back batch by batch, then report RSS in MiB."""
    before = _memory_mib("VmRSS")
    reader = JournalReader(path)
    rows = sum(batch.num_rows for batch in reader.batches())
    print(
        json.dumps(
            {"events": rows, "bytes": reader.total_bytes, "before": before, "peak": _memory_mib("VmHWM")}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per throughput run")
    parser.add_argument("--batch", type=int, default=10_000, help="events per appended batch")
    parser.add_argument("--every", type=int, default=10, help="n for FsyncPolicy.EVERY_N")
    parser.add_argument(
        "--rss-events", type=int, nargs="+", default=[1_000_000, 3_000_000], help="journal sizes for peak RSS"
    )
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write journals (default: a temp dir)"
    )
    parser.add_argument("--stream-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        _stream_child(args.stream_child)
        return
    template = _template(args.batch)
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        print(f"{args.events:,} events in batches of {args.batch:,}; journals under {root}")
        print(
            "| policy | write s | write MB/s | write ev/s | read batches MB/s | read batches ev/s | read Events ev/s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for policy in FsyncPolicy:
            path = root / policy.value
            seconds = _write(path, template, args.events, policy, args.every)
            read = _read(path)
            mb = read["bytes"] / 1e6
            label = f"{policy.name} (n={args.every})" if policy is FsyncPolicy.EVERY_N else policy.name
            print(
                f"| {label} | {seconds:.2f} | {mb / seconds:,.0f} | {args.events / seconds:,.0f} | "
                f"{mb / read['batches_s']:,.0f} | {args.events / read['batches_s']:,.0f} | "
                f"{args.events / read['events_s']:,.0f} |"
            )
        print(f"\njournal size: {read['bytes'] / 1e6:,.1f} MB for {args.events:,} events")
        print("\n| journal | bytes | RSS after imports | peak RSS streaming it back |")
        print("|---:|---:|---:|---:|")
        for total in args.rss_events:
            path = root / f"rss-{total}"
            _write(path, template, total, FsyncPolicy.NEVER, 1)
            child = subprocess.run(
                [sys.executable, __file__, "--stream-child", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(child.stdout)
            print(
                f"| {result['events']:,} events | {result['bytes'] / 1e6:,.0f} MB | "
                f"{result['before']:.0f} MiB | {result['peak']:.0f} MiB |"
            )
            for p in path.iterdir():
                p.unlink()


if __name__ == "__main__":
    main()
