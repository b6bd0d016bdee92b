"""A backtest's clock: the venue's timeline and ours, merged in one deterministic order.

Four streams move time forward (as in hftbacktest): market data as we receive it (the sequencer
sees it at `ts_receive`), reports as we receive them, market data at the venue (`venue_time`, the
exchange timestamp), and the venue's own work (requests arriving, orders expiring). The next step
is always the earliest of the four; at equal times the order is fixed: our market data, our
reports, the venue's market data, the venue's work. Nothing else decides the order, so the same
stream and Configuration give the same fills, in every process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from canonicalflow.config import CoreConfig
from canonicalflow.events import Event
from canonicalflow.runtime import Decide, RiskCheck, Sequencer
from canonicalflow.state import Core
from canonicalflow.venue._config import VenueConfig
from canonicalflow.venue._simulated import SimulatedVenue, venue_time
from canonicalflow.venue._tracker import QueueTracker

__all__ = ["Simulation", "simulate"]

_NEVER = 1 << 127


class Simulation:
    """Runs one market stream through a sequencer (our side) and a simulated venue (theirs)."""

    def __init__(self, market: Sequence[Event], sequencer: Sequencer, venue: SimulatedVenue) -> None:
        self.market, self.sequencer, self.venue = market, sequencer, venue
        times = [venue_time(ev) for ev in market]
        self._at_venue = sorted(range(len(market)), key=times.__getitem__)  # stable: ties keep stream order
        self._venue_times = times

    def run(self, progress: Callable[[int], None] = lambda done: None) -> None:
        """Until every stream is empty; `progress` hears how many market events we have seen."""
        market, venue, sequencer = self.market, self.venue, self.sequencer
        at_venue, venue_times = self._at_venue, self._venue_times
        ours = theirs = 0
        n = len(market)
        while True:
            t_ours = market[ours].ts_receive if ours < n else _NEVER
            t_report = venue.next_report_ts()
            t_report = _NEVER if t_report is None else t_report
            t_theirs = venue_times[at_venue[theirs]] if theirs < n else _NEVER
            t_work = venue.next_venue_ts()
            t_work = _NEVER if t_work is None else t_work
            earliest = min(t_ours, t_report, t_theirs, t_work)
            if earliest == _NEVER:
                return
            if t_ours == earliest:
                sequencer.feed(market[ours])
                ours += 1
                if ours % 65_536 == 0:
                    progress(ours)
            elif t_report == earliest:
                sequencer.feed(venue.pop_report())
            elif t_theirs == earliest:
                venue.on_market(market[at_venue[theirs]])
                theirs += 1
            else:
                venue.act()


def _allow_all(core: Core, intent: object) -> int:
    return 0


def simulate(
    market: Sequence[Event],
    core_config: CoreConfig,
    venue_config: VenueConfig,
    decide: Decide,
    risk: RiskCheck = _allow_all,
    record: Callable[[Event], None] | None = None,
    digests: bool = True,
    tracker: QueueTracker | None = None,
) -> tuple[Core, SimulatedVenue]:
    """Run `decide` over `market` against a simulated venue; every recorded event goes to `record`.

    A `tracker` hears every recorded event before the strategy decides on it, so `decide` can
    read the queue place of each of its resting orders from it.
    """
    venue = SimulatedVenue(core_config, venue_config)
    core = Core(core_config, digests=digests)
    write = record or (lambda ev: None)
    if tracker is not None:
        keep, write = write, lambda ev: (tracker.apply(ev), keep(ev))
    sequencer = Sequencer(core, write, risk, decide, send=venue.send)
    Simulation(market, sequencer, venue).run()
    return core, venue
