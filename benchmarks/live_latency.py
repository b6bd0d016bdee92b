"""A live node's latency and throughput against the local exchange on a real capture.

    python benchmarks/live_latency.py [--messages 60000] [--speed 10]

The exchange runs in its own process (`canonicalflow exchange serve`), the node in this one, the
example paper market maker (`examples/live-maker.toml`), journal fsynced per batch as shipped.
Two sessions on the same messages: paced at `--speed` times the recorded pace (latency: from a
frame's arrival stamp to the order handed to the venue adapter, and to the decision recorded),
then as fast as the exchange sends (sustained frames/s, and how long inputs waited in the queue).
Peak RSS is sampled every 5,000 frames: flat means the node does not grow with the session.
Prints numbers, asserts none.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from canonicalflow.events import EventKind
from canonicalflow.exchange import Capture
from canonicalflow.live import LiveNode, load_live_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rss import peak_rss_mib

REPO = Path(__file__).resolve().parents[1]
CAPTURE = REPO.parent / "shared" / "data" / "hftbacktest_binance" / "usdm_btcusdt_20240808.gz"


def _cut(messages: int, workdir: Path) -> Path:
    """The capture's first `messages` stream lines (and its snapshot), as a capture of its own."""
    import gzip

    out = workdir / "capture.gz"
    with gzip.open(CAPTURE, "rt") as source, gzip.open(out, "wt") as sink:
        kept = 0
        for line in source:
            sink.write(line)
            kept += '"stream"' in line
            if kept >= messages:
                break
    return out


async def _session(capture: Path, speed: float, workdir: Path, fsync: str) -> dict[str, Any]:
    exchange = subprocess.Popen(
        [
            shutil.which("canonicalflow") or "canonicalflow",
            "exchange",
            "serve",
            str(capture),
            "--port",
            "0",
            "--speed",
            str(speed),
            "--grid",
            "BTCUSDT=0.1,0.001",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert exchange.stdout is not None
        port = None
        while port is None:
            line = exchange.stdout.readline()
            if not line:
                raise RuntimeError("the exchange did not start")
            if match := re.search(r"serving on http://[\d.]+:(\d+)", line):
                port = int(match.group(1))
        raw = load_live_config(REPO / "examples" / "live-maker.toml").model_dump(mode="json", by_alias=True)
        raw["live"]["fsync"] = fsync
        raw["live"]["feed"].update(
            ws_url=f"ws://127.0.0.1:{port}", rest_url=f"http://127.0.0.1:{port}", heartbeat_s=None
        )
        node = LiveNode(load_live_config(raw), workdir / f"run-{speed}-{fsync}")
        to_order: list[int] = []
        to_decision: list[int] = []
        waited: list[int] = []
        rss: list[float] = []
        node.senders.append(lambda request: to_order.append(time.time_ns() - request.ts_receive))

        def heard(ev: Any) -> None:
            if ev.kind == EventKind.RISK_DECISION:
                to_decision.append(time.time_ns() - ev.ts_receive)
            elif ev.kind < 20 and ev.flags & 1:
                waited.append(time.time_ns() - ev.ts_receive)
                if node.feed.frames % 5_000 == 0 and (not rss or len(rss) < node.feed.frames // 5_000):
                    rss.append(peak_rss_mib())

        node.listeners.append(heard)
        total = len(Capture.load(capture).messages)
        started = time.perf_counter()
        bound = 60 + 3 * total / 272 / max(speed, 1)  # the capture streams 272 messages/s at its own pace
        await node.run(until=lambda: node.feed.frames >= total, duration_s=bound)
        elapsed = time.perf_counter() - started
        return {
            "frames": node.feed.frames,
            "elapsed": elapsed,
            "to_order": to_order,
            "to_decision": to_decision,
            "waited": waited,
            "rss": rss,
            "events": node.session.core.position,
        }
    finally:
        exchange.terminate()
        exchange.wait()


def _percentiles(ns: list[int]) -> str:
    if not ns:
        return "n/a"
    p = np.percentile(np.array(ns) / 1e3, [50, 99, 99.9])
    return f"{p[0]:,.0f} / {p[1]:,.0f} / {p[2]:,.0f} µs (n={len(ns):,})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument(
        "--fsync",
        choices=("batch", "never"),
        default="batch",
        help="the journal's policy (batch: as shipped)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        capture = _cut(args.messages, workdir)
        paced = asyncio.run(_session(capture, args.speed, workdir, args.fsync))
        flat_out = asyncio.run(_session(capture, 0, workdir, args.fsync))
    print(
        f"live node on {args.messages:,} messages of {CAPTURE.name}, example paper maker, fsync {args.fsync}"
    )
    print(
        "| session | frames/s | events/s | input to order p50/p99/p99.9 | input to decision p50/p99/p99.9 | queue wait p50/p99/p99.9 |"
    )
    print("|---|---:|---:|---|---|---|")
    for name, s in ((f"paced x{args.speed:g}", paced), ("full speed", flat_out)):
        print(
            f"| {name} | {s['frames'] / s['elapsed']:,.0f} | {s['events'] / s['elapsed']:,.0f} | {_percentiles(s['to_order'])} "
            f"| {_percentiles(s['to_decision'])} | {_percentiles(s['waited'])} |"
        )
    print(f"peak RSS every 5,000 frames (full speed): {', '.join(f'{m:.0f}' for m in flat_out['rss'])} MiB")


if __name__ == "__main__":
    main()
