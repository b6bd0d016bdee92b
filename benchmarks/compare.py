"""CanonicalFlow against NautilusTrader and hftbacktest: the same events, three modes, one table.

    pip install -e ".[peers]"          # nautilus_trader 1.221.0 and hftbacktest 2.4.4, benchmarks only
    python benchmarks/compare.py       # all datasets and modes; about 10 minutes on 2 cores

Workloads (canonical events in Parquet, made once into `--cache`, then converted by each engine's
runner into its own format; see workloads.py):

- synthetic: `--events` L2 level updates shaped as in shared/reference/peers.md §3;
- lobster: LOBSTER AMZN 2012-06-21 (L3), as the price levels its orders imply, with its trades;
- binance: Binance USD-M BTCUSDT 2024-08-08 depth diffs and trades, received 1 ms after the
  exchange stamped them (the capture's own receive clock is 1.27 s behind).

The real datasets are taken from `--store` (ingested as examples/README.md says), or ingested from
`--data` into the cache's own store when missing.

Modes: replay (market data only), noop (a Python strategy called on every market event that does
nothing), maker (one lot resting at the best bid and ask on a queue model: `canonicalflow.testing.TouchMaker`).

Each run is a fresh process (engine_canonicalflow.py, peer_hftbacktest.py, peer_nautilus.py) whose
median of `--repeat` timed runs and peak RSS are reported; CanonicalFlow runs at its default
settings (digest chain and journal on). Then the issue's targets are checked, and, with
`--memory`, the peak RSS of a replay streamed from Parquet at 1M and at 10M events. Results are
also written as JSON beside the workloads. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from workloads import LOT_SIZE, TICK_SIZE, write_comparable, write_synthetic_l2

_HERE = Path(__file__).resolve().parent
_ENGINES = {
    "canonicalflow": _HERE / "engine_canonicalflow.py",
    "nautilus": _HERE / "peer_nautilus.py",
    "hftbacktest": _HERE / "peer_hftbacktest.py",
}
_PEER_MODULES = {"nautilus": "nautilus_trader", "hftbacktest": "hftbacktest"}
_REAL = {  # name: (dataset id, venue, symbol, ingest arguments after the format)
    "lobster": (
        "nasdaq/AMZN/2012-06-21",
        ["lobster", "lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv.gz",
         "lobster/AMZN_2012-06-21_34200000_57600000_orderbook_1.csv.gz",
         "--venue", "nasdaq", "--instrument", "AMZN", "--tick-size", "0.0001"],
    ),
    "binance": (
        "binance-usdm/BTCUSDT/2024-08-08",
        ["binance", "hftbacktest_binance/usdm_btcusdt_20240808.gz",
         "--venue", "binance-usdm", "--instrument", "BTCUSDT", "--tick-size", "0.1", "--lot-size", "0.001"],
    ),
}  # fmt: skip
_FEED_LATENCY_NS = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="synthetic stream length")
    parser.add_argument("--datasets", default="synthetic,lobster,binance")
    parser.add_argument("--modes", default="replay,noop,maker")
    parser.add_argument("--engines", default="canonicalflow,nautilus,hftbacktest")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per process; the median is kept")
    parser.add_argument("--store", type=Path, default=Path("store"), help="store with the real datasets")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="raw data, to ingest")
    parser.add_argument("--cache", type=Path, default=_HERE / ".cache", help="workloads and results")
    parser.add_argument("--memory", action="store_true", help="also peak RSS of a replay at 1M and 10M")
    args = parser.parse_args()

    engines = [e for e in args.engines.split(",") if _available(e)]
    workloads = {name: _workload(name, args) for name in args.datasets.split(",")}
    results = []
    for name, (path, tick, lot) in workloads.items():
        for mode in args.modes.split(","):
            for engine in engines:
                print(f"  {name} {mode} {engine} ...", file=sys.stderr, flush=True)
                measured = _measure(engine, path, tick, lot, mode, args.repeat)
                results.append({"dataset": name, **measured})
    _print_table(results)
    _print_targets(results)
    if args.memory:
        _print_memory(args)
    out = args.cache / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {out}")


def _available(engine: str) -> bool:
    module = _PEER_MODULES.get(engine)
    if module is None:
        return True
    found = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0
    if not found:
        print(f"{engine} is not installed: left out (pip install -e '.[peers]')", file=sys.stderr)
    return found


def _workload(name: str, args: argparse.Namespace) -> tuple[Path, str, str]:
    """(canonical Parquet file every engine reads, tick size, lot size)."""
    if name == "synthetic":
        return (
            write_synthetic_l2(args.cache / f"synthetic-{args.events}.parquet", args.events),
            TICK_SIZE,
            LOT_SIZE,
        )
    dataset, ingest = _REAL[name]
    source = _dataset_file(args.store, dataset) or _ingested(args, dataset, ingest)
    manifest = json.loads((source.parent / "manifest.json").read_text())
    target = args.cache / f"{name}.parquet"
    latency = _FEED_LATENCY_NS if name == "binance" else None
    write_comparable(source, target, received_after_ns=latency)
    return target, manifest["tick_size"], manifest["lot_size"]


def _dataset_file(store: Path, dataset: str) -> Path | None:
    venue, symbol, date = dataset.split("/")
    found = sorted(
        (store / f"venue={venue}" / f"symbol={symbol}" / f"date={date}").glob("version=*/part-0.parquet")
    )
    return found[-1] if found else None


def _ingested(args: argparse.Namespace, dataset: str, ingest: list[str]) -> Path:
    store = args.cache / "store"
    if (found := _dataset_file(store, dataset)) is not None:
        return found
    fmt, *rest = ingest
    files = [str(args.data / a) if "/" in a and not a.startswith("--") else a for a in rest]
    cli = [sys.executable, "-c", "from canonicalflow.cli import main; main()"]
    done = subprocess.run(
        [*cli, "data", "ingest", fmt, *files, "--store", str(store)], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"ingesting {dataset} from {args.data} failed: {done.stderr.strip() or done.stdout.strip()}")
    found = _dataset_file(store, dataset)
    assert found is not None, f"ingesting {dataset} wrote no dataset"
    return found


def _measure(engine: str, path: Path, tick: str, lot: str, mode: str, repeat: int) -> dict:
    command = [
        sys.executable, str(_ENGINES[engine]), "--data", str(path), "--tick", tick, "--lot", lot,
        "--mode", mode, "--repeat", str(repeat),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=_HERE)
    if done.returncode != 0:
        return {"engine": engine, "mode": mode, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print_table(results: list[dict]) -> None:
    print(
        f"\n{'dataset':<10} {'mode':<7} {'engine':<14} {'events':>10} {'events/s':>12} "
        f"{'CF x':>7} {'peak RSS':>10} {'setup s':>8} {'orders':>7} {'fills':>6}  final bid/ask"
    )
    rates = {(r["dataset"], r["mode"], r["engine"]): r.get("events_per_s") for r in results}
    for r in results:
        if "error" in r:
            print(f"{r['dataset']:<10} {r['mode']:<7} {r['engine']:<14} failed: {r['error']}")
            continue
        ours = rates.get((r["dataset"], r["mode"], "canonicalflow"))
        ratio = f"{ours / r['events_per_s']:.2f}" if ours and r["engine"] != "canonicalflow" else ""
        bbo = f"{r['final_bid']} / {r['final_ask']}" if r.get("final_bid") is not None else "-"
        print(
            f"{r['dataset']:<10} {r['mode']:<7} {r['engine']:<14} {r['events']:>10,} {r['events_per_s']:>12,.0f} "
            f"{ratio:>7} {r['peak_rss_mib']:>6.0f} MiB {r['setup_s']:>8.2f} {r.get('orders', 0):>7,} "
            f"{r.get('fills', 0):>6,}  {bbo}"
        )
    print("CF x: CanonicalFlow's events/s divided by that engine's, same dataset and mode.")


def _print_targets(results: list[dict]) -> None:
    rate = {(r["dataset"], r["mode"], r["engine"]): r.get("events_per_s") for r in results}
    print("\nTargets (synthetic stream):")
    for mode, peer, target in (("noop", "nautilus", 5.0), ("replay", "hftbacktest", 0.5)):
        ours, theirs = rate.get(("synthetic", mode, "canonicalflow")), rate.get(("synthetic", mode, peer))
        if not ours or not theirs:
            print(f"  {mode}: {peer} not measured")
            continue
        ratio = ours / theirs
        verdict = "met" if ratio >= target else "not met"
        print(
            f"  {mode}: {ours:,.0f} / {theirs:,.0f} events/s = {ratio:.2f}x {peer} (target {target}x): {verdict}"
        )


def _print_memory(args: argparse.Namespace) -> None:
    print("\nPeak RSS of a replay streamed from Parquet (CanonicalFlow, one timed run each):")
    for n in (1_000_000, 10_000_000):
        path = write_synthetic_l2(args.cache / f"synthetic-{n}.parquet", n)
        r = _measure("canonicalflow", path, TICK_SIZE, LOT_SIZE, "replay", 1)
        print(
            f"  {n:>12,} events: {r.get('peak_rss_mib', float('nan')):,.0f} MiB, {r.get('events_per_s', 0):,.0f} events/s"
        )


if __name__ == "__main__":
    main()
