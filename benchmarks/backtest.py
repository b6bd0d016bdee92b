"""A whole backtest, as `canonicalflow backtest` runs it: events/s and peak memory.

    python benchmarks/backtest.py [--events 120000,480000] [--strategy maker,idle]

The demo's configuration (the shipped zero-intelligence order flow on the L3 venue) at several
stream lengths, with the inventory-skew market maker deciding on every event, and with a strategy
that is never asked (cadence `on = []`): the gap between them is what deciding costs. Everything
a run does is timed: order flow generation, the Core with digests, the journal on disk, the
projections, risk, the venue, the tables and the summary. The report is left out (it is rendered
once, after the run). Each run is a fresh process, so peak RSS is that run's alone. Measured,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

_RUN = """
import json, resource, sys
from canonicalflow.backtest import demo_config, run
events, strategy, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = json.loads(demo_config().model_dump_json(by_alias=True))
raw["data"]["generator"]["events"] = events
if strategy == "idle":
    raw["strategy"]["cadence"]["on"] = []
result = run(raw, out, force=True, progress=False, report=False)
s = result.summary
print(json.dumps({"events": s["market_events"], "recorded": s["recorded_events"], "seconds": s["elapsed_s"],
                  "fills": s["fills"], "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", default="120000,480000", help="stream lengths, comma-separated")
    parser.add_argument(
        "--strategy", default="maker,idle", help="maker (decides on every event), idle (never asked)"
    )
    args = parser.parse_args()
    print(
        f"{'strategy':<8} {'market events':>14} {'recorded':>10} {'fills':>7} {'seconds':>8} {'market ev/s':>12} {'peak RSS':>10}"
    )
    for strategy in args.strategy.split(","):
        for events in (int(n) for n in args.events.split(",")):
            with tempfile.TemporaryDirectory() as out:
                line = (
                    subprocess.run(
                        [sys.executable, "-c", _RUN, str(events), strategy, out],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    .stdout.strip()
                    .splitlines()[-1]
                )
            m = json.loads(line)
            print(
                f"{strategy:<8} {m['events']:>14,} {m['recorded']:>10,} {m['fills']:>7,} {m['seconds']:>8.1f} "
                f"{m['events'] / m['seconds']:>12,.0f} {m['rss_mib']:>7.0f} MiB"
            )


if __name__ == "__main__":
    main()
