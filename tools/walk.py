"""How many source files one market event crosses, from the feeder to a fill in `on_execution`.

Runs a small event-by-event backtest (a touch maker on a synthetic L2 dataset in a store) with a
profiler hook, and lists the canonicalflow files whose code runs on the three legs of one walk:
the market event read (feeder, loop) and fed to our side (sequencer, Core, recorder, strategy), the same
event applied at the venue where it fills our order, and that FILL report fed back until the
strategy's `on_execution` returns. A design measure, not a timing: `python tools/walk.py`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import canonicalflow
from canonicalflow.backtest import run
from canonicalflow.events import EventKind
from canonicalflow.testing import store_table, synthetic_l2

ROOT = Path(canonicalflow.__file__).resolve().parent  # the package imported, wherever it lives
_FILL, _MARKET = int(EventKind.FILL), 20


class Walk:
    """Collects the files each leg touches; keeps the first leg set that ends in a fill."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.legs: dict[str, set[str]] = {}
        self.on = False

    def hook(self, frame, event, arg) -> None:
        if self.on and event == "call":
            path = frame.f_code.co_filename
            if path.startswith(str(ROOT)):
                self.files.add(str(Path(path).relative_to(ROOT.parent)))

    def leg(self, name: str, call, *args):
        self.files, self.on = set(), True
        try:
            return call(*args)
        finally:
            self.on = False
            self.legs.setdefault(name, set()).update(self.files)


def main() -> None:
    from canonicalflow.runtime import Sequencer
    from canonicalflow.venue import SimulatedVenue

    try:
        from canonicalflow.backtest._loop import Simulation
    except ImportError:  # before the loop moved out of the venue package
        from canonicalflow.venue import Simulation  # type: ignore[attr-defined,no-redef]

    walk = Walk()
    feed, on_market, read_one = Sequencer.feed, SimulatedVenue.on_market, Simulation._read_one
    filled: list[bool] = []

    def traced_feed(self, ev):
        if filled:
            return feed(self, ev)
        name = "ours" if ev.kind < _MARKET else ("report" if ev.kind == _FILL else None)
        return walk.leg(name, feed, self, ev) if name == "ours" or name == "report" else feed(self, ev)

    def traced_on_market(self, ev):
        before = len(self._outbox)
        result = walk.leg("venue?", on_market, self, ev)
        if len(self._outbox) > before and "venue" not in walk.legs:
            walk.legs["venue"] = walk.legs.pop("venue?")
        else:
            walk.legs.pop("venue?", None)
        return result

    def traced_read_one(self):
        return walk.leg("read", read_one, self) if "read" not in walk.legs else read_one(self)

    Sequencer.feed, SimulatedVenue.on_market, Simulation._read_one = (
        traced_feed,
        traced_on_market,
        traced_read_one,
    )
    sys.setprofile(walk.hook)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store_table(synthetic_l2(3_000, 7), Path(tmp) / "store", "walk/SYN/2000-01-01", "0.01", "1")
            config = {
                "name": "walk",
                "data": {"store": str(Path(tmp) / "store"), "datasets": ["walk/SYN/2000-01-01"]},
                "venue": {"book": "l2"},
                "strategy": {"class": "canonicalflow.testing:TouchMaker"},
                "run": {"columnar": False},
            }
            run(config, Path(tmp) / "run", progress=False, report=False)
    finally:
        sys.setprofile(None)
        Sequencer.feed, SimulatedVenue.on_market, Simulation._read_one = feed, on_market, read_one
    walked = set().union(*walk.legs.values())
    for name in ("read", "ours", "venue", "report"):
        print(f"{name:<7} {len(walk.legs.get(name, ())):>3} files")
    print(f"walk    {len(walked):>3} files")
    for path in sorted(walked):
        print("  ", path)


if __name__ == "__main__":
    main()
