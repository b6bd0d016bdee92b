"""A backtest's clock: the venue's timeline and ours, merged in one deterministic order.

Five streams move time forward: our obligations (a strategy timer, a rate-limit token freeing),
market data as we receive it (the sequencer sees it at `ts_receive`), reports as we receive them,
market data at the venue (`venue_time`, the exchange timestamp), and the venue's own work
(requests arriving, orders expiring); the last four as in hftbacktest. The next step is always
the earliest; at equal times the order is fixed: our wake-ups, our market data, our reports, the
venue's market data, the venue's work. So a request made at a wake-up reaches the venue at the
wake-up's time plus latency, before any later market data. Nothing else decides the order, so the same
stream and Configuration give the same fills, in every process.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable

from canonicalflow.config import CoreConfig
from canonicalflow.errors import DataError
from canonicalflow.events import Event
from canonicalflow.runtime import Decide, RiskCheck, Sequencer
from canonicalflow.state import Core
from canonicalflow.venue._config import VenueConfig
from canonicalflow.venue._simulated import SimulatedVenue, venue_time
from canonicalflow.venue._tracker import QueueTracker

__all__ = ["Simulation", "simulate"]

_NEVER = 1 << 127


class Simulation:
    """Runs one market stream through a sequencer (our side) and a simulated venue (theirs).

    The stream is read once, lazily, in stream (receive-time) order. The venue needs it in venue
    time, so events wait in a reorder buffer until no unread event can come before them: an
    event reaches us at most `max_feed_latency_ns` after the venue acted on it, so the buffer
    holds that much of the stream, never all of it. An event later than that is an error naming
    it, never a silently reordered fill.
    """

    def __init__(
        self,
        market: Iterable[Event],
        sequencer: Sequencer,
        venue: SimulatedVenue,
        max_feed_latency_ns: int = 10_000_000_000,
    ) -> None:
        self.sequencer, self.venue = sequencer, venue
        self._unread = iter(market)
        self._latency = max_feed_latency_ns
        self._ours: deque[Event] = deque()  # read, not yet fed to the sequencer
        self._theirs: list[tuple[int, int, Event]] = []  # heap: (venue time, read order, event)
        self._read = 0
        self._received = -_NEVER  # the latest receive time read: bounds every unread venue time
        self._venue_clock = -_NEVER  # the venue time of the last market event the venue applied

    def run(self, progress: Callable[[int], None] = lambda done: None) -> None:
        """Until every stream is empty; `progress` hears how many market events we have seen."""
        ours, theirs, venue, sequencer = self._ours, self._theirs, self.venue, self.sequencer
        fed = 0
        while True:
            t_ours = ours[0].ts_receive if ours else _NEVER
            t_report = venue.next_report_ts()
            t_report = _NEVER if t_report is None else t_report
            t_theirs = theirs[0][0] if theirs else _NEVER
            t_work = venue.next_venue_ts()
            t_work = _NEVER if t_work is None else t_work
            t_due = sequencer.next_due()
            t_due = _NEVER if t_due is None else t_due
            earliest = min(t_due, t_ours, t_report, t_theirs, t_work)
            if self._unread is not None and (not ours or self._received - self._latency <= earliest):
                self._read_one()  # an unread event might still come first: look further ahead
                continue
            if min(t_ours, t_report, t_theirs, t_work) == _NEVER:
                return  # nothing left but timers: the run is over
            if t_due == earliest:
                sequencer.advance_to(t_due)  # a wake-up (timer, rate-limit token) at its own time
            elif t_ours == earliest:
                sequencer.feed(ours.popleft())
                fed += 1
                if fed % 65_536 == 0:
                    progress(fed)
            elif t_report == earliest:
                sequencer.feed(venue.pop_report())
            elif t_theirs == earliest:
                self._venue_clock = t_theirs
                venue.on_market(heapq.heappop(theirs)[2])
            else:
                self._venue_clock = t_work
                venue.act()

    def _read_one(self) -> None:
        assert self._unread is not None
        ev = next(self._unread, None)
        if ev is None:
            self._unread = None
            return
        at_venue = venue_time(ev)
        if at_venue < self._venue_clock:
            raise DataError(
                f"market event at position {ev.position} reached us {ev.ts_receive - at_venue:,} ns after "
                f"the venue acted on it, later than max_feed_latency_ns={self._latency:,} allows; "
                "raise the bound"
            )
        self._read += 1
        self._received = max(self._received, ev.ts_receive)
        self._ours.append(ev)
        heapq.heappush(self._theirs, (at_venue, self._read, ev))  # ties keep stream order


def _allow_all(core: Core, intent: object) -> int:
    return 0


def simulate(
    market: Iterable[Event],
    core_config: CoreConfig,
    venue_config: VenueConfig,
    decide: Decide,
    risk: RiskCheck = _allow_all,
    record: Callable[[Event], None] | None = None,
    digests: bool = True,
    tracker: QueueTracker | None = None,
    max_feed_latency_ns: int = 10_000_000_000,
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
    Simulation(market, sequencer, venue, max_feed_latency_ns).run()
    return core, venue
