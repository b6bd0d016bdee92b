"""Events per second through the Core, with the digest chain on and off, and peak memory by length.

    python benchmarks/core_replay.py [--events 200000] [--lengths 100000,1000000]

The stream is the seeded synthetic one (`canonicalflow.testing.synthetic_stream`): book updates,
trades, control switches, intents and execution reports, about a sixth of them refused by a
kernel. It is generated lazily, so memory measures the Core, not a list of events.
Measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from canonicalflow.state import Core
from canonicalflow.testing import synthetic_config, synthetic_stream

_MEASURE_RSS = """
import json, sys
from canonicalflow.state import Core
from canonicalflow.testing import synthetic_config, synthetic_stream
core = Core(synthetic_config())
for ev in synthetic_stream(3, int(sys.argv[1])):
    core.apply(ev)
sizes = {name: len(getattr(core, name)) for name in Core._DOMAINS}
# VmHWM is this process's own peak; ru_maxrss would carry the parent's peak across fork and exec.
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"rss_mib": peak_kib / 1024, "sizes": sizes}))
"""


def events_per_second(count: int, digests: bool) -> tuple[float, float]:
    """(events/s for the Core alone, events/s including generating the stream), best of three."""
    events = list(synthetic_stream(1, count))
    best = 0.0
    for _ in range(3):
        core = Core(synthetic_config(), digests=digests)
        apply = core.apply
        started = time.perf_counter()
        for ev in events:
            apply(ev)
        best = max(best, count / (time.perf_counter() - started))
    started = time.perf_counter()
    core = Core(synthetic_config(), digests=digests)
    for ev in synthetic_stream(1, count):
        core.apply(ev)
    return best, count / (time.perf_counter() - started)


def peak_rss(length: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE_RSS, str(length)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events per throughput run")
    parser.add_argument("--lengths", default="100000,1000000", help="stream lengths for the memory runs")
    args = parser.parse_args()
    print(f"Core throughput, {args.events:,} synthetic events (Python {sys.version.split()[0]})")
    print(f"{'digests':<8} {'Core only':>14} {'with generator':>16}")
    for digests in (True, False):
        core_only, with_generator = events_per_second(args.events, digests)
        print(
            f"{'on' if digests else 'off':<8} {core_only / 1e3:>10,.0f} k/s {with_generator / 1e3:>12,.0f} k/s"
        )
    print("\npeak RSS by stream length (separate processes, stream generated lazily)")
    print(f"{'events':>10} {'RSS MiB':>8}  state sizes")
    for length in (int(n) for n in args.lengths.split(",")):
        result = peak_rss(length)
        sizes = ", ".join(f"{k}={v:,}" for k, v in result["sizes"].items() if v)
        print(f"{length:>10,} {result['rss_mib']:>8.1f}  {sizes}")
    print(f"\nthis process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB peak RSS")


if __name__ == "__main__":
    main()
