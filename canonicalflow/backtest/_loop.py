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
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import numpy as np
import pyarrow as pa

from canonicalflow.book import levels_by_instrument, runs
from canonicalflow.config import CoreConfig
from canonicalflow.errors import DataError
from canonicalflow.events import EVENT_SCHEMA, Event, EventKind, Flag, Intent, LazyEvents, events_of
from canonicalflow.runtime import Decide, JournalSink, RiskCheck, Sequencer
from canonicalflow.state import Core
from canonicalflow.venue import SimulatedVenue, VenueConfig, venue_time, venue_times

__all__ = ["MarketBatches", "OurLane", "Simulation", "simulate"]

_NEVER = 1 << 127
_VENUE_FOLDS = (int(EventKind.LEVEL_SET), int(EventKind.TRADE), int(EventKind.BBO))
_BAD_RECEIVE_TS = int(Flag.BAD_RECEIVE_TS)
_SESSION_STOP = int(EventKind.SESSION_STOP)
_LEVEL_COLUMNS = ("kind", "instrument", "side", "price", "qty", "flags")
# Rows the lane takes at once: few after we acted (we may act again soon), doubling while we idle.
_FIRST_CHUNK, _LAST_CHUNK = 256, 65_536
# A lane left after fewer rows than this is not entered again for the next `_REST_EVENTS` events:
# setting it up costs more than a few rows save.
_SHORT_STAY, _REST_EVENTS = 16, 1_024


class MarketBatches:
    """A market stream given as canonical Arrow batches: what lets the simulation fold it in bulk."""

    def __init__(self, batches: Iterable[pa.RecordBatch]) -> None:
        self._batches = iter(batches)
        self._batch: pa.RecordBatch | None = None
        self._row = 0
        self._events: LazyEvents | None = None  # the current batch's rows as events

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        """The next row as an Event (rows are converted a block at a time)."""
        if not self._load():
            raise StopIteration
        assert self._events is not None
        ev = self._events[self._row]
        self._row += 1
        return ev

    def rest(self, limit: int = 1 << 62) -> pa.RecordBatch | None:
        """Up to `limit` unread rows of the current batch (the next batch once it is read), None at the end."""
        if not self._load():
            return None
        assert self._batch is not None
        if self._row == 0 and self._batch.num_rows <= limit:
            return self._batch
        return self._batch.slice(self._row, limit)

    def _load(self) -> bool:
        """A batch with unread rows is current; False at the end of the stream."""
        while self._batch is None or self._row >= self._batch.num_rows:
            self._batch = next(self._batches, None)
            if self._batch is None:
                return False
            self._row, self._events = 0, LazyEvents(self._batch)
        return True

    def consume(self, rows: int) -> None:
        self._row += rows


class OurLane(Protocol):
    """Our side of the columnar lane (canonicalflow.backtest._lane): market data folded in batches."""

    def quiet(self) -> bool:
        """Nothing of ours is pending: no order works, no command waits (a timer may be set)."""

    def feed_rows(self, batch: pa.RecordBatch, due: int | None = None) -> tuple[int, bool]:
        """Feed rows in stream order; stop after a row whose decision sent intents, or before the
        first row that would let the timer's wake-up at `due` fall due. (How many rows were fed,
        whether the strategy acted.)"""


class Simulation:
    """Runs one market stream through a sequencer (our side) and a simulated venue (theirs).

    The stream is read once, lazily, in stream (receive-time) order. The venue needs it in venue
    time, so events wait in a reorder buffer until no unread event can come before them: an
    event reaches us at most `max_feed_latency_ns` after the venue acted on it, so the buffer
    holds that much of the stream, never all of it. An event later than that is an error naming
    it, never a silently reordered fill.

    Given `MarketBatches` and our side of the lane, while nothing of ours is at the venue, on its
    way or queued, the venue's book is seen by nothing until we act. Then our events are fed
    without looking ahead, and whole batches go through the columnar lane: our side folds them in
    stream order, the venue in venue-time order as the reorder buffer would (ADR 0010). A timer's
    wake-ups are taken one at a time, at their times (ADR 0012).
    """

    def __init__(
        self,
        market: Iterable[Event],
        sequencer: Sequencer,
        venue: SimulatedVenue,
        max_feed_latency_ns: int = 10_000_000_000,
        lane: OurLane | None = None,
    ) -> None:
        self.sequencer, self.venue = sequencer, venue
        self._unread: Iterator[Event] | None = market if isinstance(market, MarketBatches) else iter(market)
        self._lane = lane if isinstance(market, MarketBatches) else None
        self._pending = EVENT_SCHEMA.empty_table()  # rows fed to us in the lane, not yet folded at the venue
        self._pending_times: np.ndarray = np.zeros(0, np.int64)
        self._chunk = _FIRST_CHUNK
        self._rest = 0  # events to feed one by one before the lane may open again
        self._latency = max_feed_latency_ns
        self._ours: deque[Event] = deque()  # read, not yet fed to the sequencer
        self._theirs: list[tuple[int, int, Event]] = []  # heap: (venue time, read order, event)
        self._read = 0
        self._received = -_NEVER  # the latest receive time read: bounds every unread venue time
        self._venue_clock = -_NEVER  # the venue time of the last market event the venue applied
        self._clock = venue.config.market_clock
        self.fed = 0  # our inputs fed to the sequencer
        self.stopped = False  # a SESSION_STOP was fed

    def run(self, progress: Callable[[int], None] = lambda done: None) -> None:
        """Until every stream is empty, or a SESSION_STOP was fed; `progress` hears how many market
        events we have seen."""
        ours, sequencer = self._ours, self.sequencer
        while not self.stopped:
            if self._lane is not None and self._idle():
                due = sequencer.next_due()  # only the timer can be due while we idle
                if not ours and self._unread is not None and not self._rest:
                    taken = self._run_lane(progress, self.fed, due)
                    self.fed += taken
                    if taken or due is None:
                        continue  # else the timer falls due first: the wake-up goes as below
                elif ours and (due is None or due > ours[0].ts_receive):
                    self._feed_ours()  # nothing of ours at the venue: no need to look ahead
                    continue
            times = self._times()
            earliest = min(times)
            if self._unread is not None and (not ours or self._received - self._latency <= earliest):
                self._read_one()  # an unread event might still come first: look further ahead
                continue
            if min(times[1:]) == _NEVER:
                return  # nothing left but timers: the run is over
            if self._take(times) and self.fed % 65_536 == 0:
                progress(self.fed)

    def push(self, ev: Event) -> None:
        """An input read from outside (a live feed), in receive-time order: it waits for `advance`.
        Twin: `_read_one` (the same, for the stream this simulation reads itself)."""
        self._arrive(ev)

    def advance(self, horizon: int) -> None:
        """Take every step due at or before `horizon`, in the order `run` takes them, for a runtime
        that pushes its inputs and knows none can still come at or before `horizon` (a live node:
        its wall clock). Stops after a SESSION_STOP."""
        while not self.stopped:
            times = self._times()
            if min(times) > horizon:
                return
            self._take(times)

    def next_step(self) -> int | None:
        """When the earliest step among what has arrived falls due, or None: a live runtime's timer."""
        earliest = min(self._times())
        return None if earliest == _NEVER else earliest

    def _times(self) -> tuple[int, int, int, int, int]:
        """When each stream's next step falls: our wake-ups, our inputs, reports, the venue's market
        data, the venue's work (at equal times, taken in this order)."""
        venue, due = self.venue, self.sequencer.next_due()
        report, work = venue.next_report_ts(), venue.next_venue_ts()
        return (
            _NEVER if due is None else due,
            self._ours[0].ts_receive if self._ours else _NEVER,
            _NEVER if report is None else report,
            self._theirs[0][0] if self._theirs else _NEVER,
            _NEVER if work is None else work,
        )

    def _take(self, times: tuple[int, int, int, int, int]) -> bool:
        """Take the earliest step; True when it fed one of our inputs."""
        t_due, t_ours, t_report, t_theirs, t_work = times
        earliest = min(times)
        if t_due == earliest:
            self.sequencer.advance_to(t_due)  # a wake-up (timer, rate-limit token) at its own time
        elif t_ours == earliest:
            self._feed_ours()
            return True
        elif t_report == earliest:
            self.sequencer.feed(self.venue.pop_report())
        elif t_theirs == earliest:
            self._venue_clock = t_theirs
            self.venue.on_market(heapq.heappop(self._theirs)[2])
        else:
            self._venue_clock = t_work
            self.venue.act()
        return False

    def _feed_ours(self) -> None:
        ev = self._ours.popleft()
        self.sequencer.feed(ev)
        self.fed += 1
        self._rest = max(0, self._rest - 1)
        if ev.kind == _SESSION_STOP:
            self.stopped = True  # the session is over: nothing after it happens

    # ------------------------------------------------------------ the columnar lane
    def _idle(self) -> bool:
        """Nothing of ours is at the venue, on its way or queued: no fill or report can come between
        market events, and the venue's book is seen by nothing until we act. Only the strategy's
        timer can be due: its wake-ups are taken at their times, outside the lane."""
        assert self._lane is not None
        return self.venue.quiet() and self._lane.quiet()

    def _run_lane(self, progress: Callable[[int], None], fed: int, due: int | None) -> int:
        """Fold batches until the stream ends, we act, or the timer falls due at `due`; how many
        market events were fed.

        Our side takes the rows in stream order. The venue, which holds nothing of ours, folds
        them in venue-time order once no unread row can come before them (the reorder buffer's
        rule); on leaving the lane, the rows it has not folded yet go back to the buffer.
        """
        assert isinstance(self._unread, MarketBatches) and self._lane is not None
        taken_total = 0
        while (batch := self._unread.rest(self._chunk)) is not None:
            at_venue = venue_times(
                batch.column("ts_exchange").to_numpy(), batch.column("ts_receive").to_numpy(), self._clock
            )
            late = np.flatnonzero(at_venue < self._venue_clock)
            if len(late):
                self._too_late(batch.slice(int(late[0]), 1).to_pylist()[0], int(at_venue[late[0]]))
            taken, acted = self._lane.feed_rows(batch, due)
            self._unread.consume(taken)
            taken_total += taken
            progress(fed + taken_total)
            self._read += taken
            fed_rows = batch.slice(0, taken)
            if taken:
                self._received = max(self._received, int(np.max(fed_rows.column("ts_receive").to_numpy())))
            self._venue_take(fed_rows, at_venue[:taken])
            if taken < batch.num_rows or not self._idle():
                self._venue_leave()
                if acted:  # we may again soon (a timer's wake-up or a checkpoint is no reason)
                    self._chunk = _FIRST_CHUNK
                    if taken < _SHORT_STAY:  # at almost every event: one by one for a while
                        self._rest = _REST_EVENTS
                return taken_total
            self._chunk = min(2 * self._chunk, _LAST_CHUNK)
        self._venue_fold_before(None)  # the end: nothing unread can come first
        self._unread = None
        return taken_total

    def _venue_take(self, rows: pa.RecordBatch, at_venue: np.ndarray) -> None:
        """Rows we have fed wait for the venue in venue-time order (ties in reading order); those
        no unread row can precede are folded now."""
        if rows.num_rows:
            self._pending = pa.concat_tables([self._pending, pa.Table.from_batches([rows])])
            times = np.concatenate([self._pending_times, at_venue])
            if np.any(times[1:] < times[:-1]):  # most streams come in venue-time order already
                order = np.argsort(times, kind="stable")
                self._pending, times = self._pending.take(order), times[order]
            self._pending_times = times
        self._venue_fold_before(self._received - self._latency)

    def _venue_fold_before(self, watermark: int | None) -> None:
        """Apply, in venue-time order, every waiting row and buffered event earlier than `watermark`
        (None: all of them). Buffered events were read before any waiting row: at equal times they go first."""
        theirs = self._theirs
        while True:
            times = self._pending_times
            ready = len(times) if watermark is None else int(np.searchsorted(times, watermark, side="left"))
            if not theirs or (watermark is not None and theirs[0][0] >= watermark):
                self._venue_fold(ready)
                return
            at_venue, _, ev = heapq.heappop(theirs)
            self._venue_fold(int(np.searchsorted(times[:ready], at_venue, side="left")))
            self._venue_clock = max(self._venue_clock, at_venue)
            self.venue.on_market(ev)

    def _venue_fold(self, count: int) -> None:
        """Apply the first `count` waiting rows at the venue: level sets in bulk, the rest one by one."""
        if count == 0:
            return
        rows, times = self._pending.slice(0, count), self._pending_times[:count]
        self._pending, self._pending_times = self._pending.slice(count), self._pending_times[count:]
        kind, flags = rows.column("kind").to_numpy(), rows.column("flags").to_numpy()
        for start, end, foldable in runs(np.isin(kind, _VENUE_FOLDS) & (flags & _BAD_RECEIVE_TS == 0)):
            part = rows.slice(start, end - start)
            if foldable:
                self._venue_levels(part)
            else:
                for ev in _events_in(part):
                    self.venue.on_market(ev)
        self._venue_clock = max(self._venue_clock, int(times[-1]))

    def _venue_levels(self, rows: pa.Table) -> None:
        """Level sets in bulk; trades and tops of book move nothing on a book where nothing of ours rests."""
        columns = {name: rows.column(name).to_numpy() for name in _LEVEL_COLUMNS}
        for levels in levels_by_instrument(columns):
            self.venue.fold_levels(*levels)

    def _venue_leave(self) -> None:
        """Back to one event at a time: the rows the venue has not folded go into the reorder buffer."""
        for ev in _events_in(self._pending):
            self._read += 1
            heapq.heappush(self._theirs, (venue_time(ev, self._clock), self._read, ev))
        self._pending = self._pending.slice(0, 0)
        self._pending_times = self._pending_times[:0]

    def _too_late(self, row: dict, at_venue: int) -> None:
        raise DataError(
            f"market event at position {row['position']} reached us {row['ts_receive'] - at_venue:,} ns after "
            f"the venue acted on it, later than max_feed_latency_ns={self._latency:,} allows; "
            "raise the bound"
        )

    def _read_one(self) -> None:
        assert self._unread is not None
        ev = next(self._unread, None)
        if ev is None:
            self._unread = None
            return
        self._arrive(ev)

    def _arrive(self, ev: Event) -> None:
        """An event read: ours at its receive time, the venue's at its venue time."""
        at_venue = venue_time(ev, self._clock)
        if at_venue < self._venue_clock:
            self._too_late(ev._asdict(), at_venue)
        self._read += 1
        self._received = max(self._received, ev.ts_receive)
        self._ours.append(ev)
        heapq.heappush(self._theirs, (at_venue, self._read, ev))  # ties keep stream order


def _allow_all(intent: Intent) -> int:
    return 0


def simulate(
    market: Iterable[Event],
    core_config: CoreConfig,
    venue_config: VenueConfig,
    decide: Decide,
    risk: RiskCheck = _allow_all,
    record: JournalSink | None = None,
    digests: bool = True,
    max_feed_latency_ns: int = 10_000_000_000,
) -> tuple[Core, SimulatedVenue]:
    """Run `decide` over `market` against a simulated venue; every recorded event goes to `record`.

    The Core keeps its books and queue estimate by `core_config.market`; give it the venue's rules
    (`VenueConfig.book_model()`, as a backtest does) for an estimate that follows the venue's.
    """
    venue = SimulatedVenue(core_config, venue_config)
    core = Core(core_config, digests=digests)
    sequencer = Sequencer(core, record or (lambda ev: None), risk, decide, send=venue.send)
    Simulation(market, sequencer, venue, max_feed_latency_ns).run()
    return core, venue


def _events_in(rows: pa.Table) -> Iterator[Event]:
    """The table's rows as Event records, in order."""
    for batch in rows.combine_chunks().to_batches():
        yield from events_of(batch)
