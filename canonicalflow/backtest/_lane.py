"""Our side of the columnar lane: market data folded into State a batch at a time.

While nothing of ours works at the venue or waits to go (no open order, no queued command, no
timer), a level set, trade or top of book changes nothing but the market domain. Runs of them are
then folded at once: into the Core column by column (`Core.apply_columns`, the same State and
digest as `Core.apply` one event at a time, its books level by level), into the journal as the
batch itself. Every row the Core cannot fold that way (`Core.foldable`: other kinds, refused rows)
goes through the sequencer one event at a time, as does every row when the lane is short.

A strategy asked about market events is still asked about every one, in order, with the same
values: each row read in place (`canonicalflow.events.EventRow`), not built into an Event. Its
view catches up lazily: the first thing it reads brings State to the event being decided on
(`View.catch_up`), so a strategy that reads nothing costs nothing more, and one that reads sees
exactly what it would have seen. The first event that returns actions ends the lane:
State is brought to it, its intents go to risk and execution control, and the simulation goes on
one event at a time while we have something at the venue.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from canonicalflow.backtest._recorder import Recorder
from canonicalflow.book import runs
from canonicalflow.events import EVENT_SCHEMA, Event, EventRows, Flag, LazyEvents
from canonicalflow.runtime import Sequencer
from canonicalflow.state import Core
from canonicalflow.strategy import StrategyDriver, View

__all__ = ["MarketLane"]

_BAD_RECEIVE = int(Flag.BAD_RECEIVE_TS)
_SHORT = 16  # fewer rows than this are applied one by one: cheaper than array set-up
_COLUMNS = (  # what `Core.foldable` and `Core.apply_columns` read
    "kind",
    "flags",
    "ts_receive",
    "instrument",
    "side",
    "price",
    "qty",
    "bid_price",
    "bid_qty",
    "ask_price",
    "ask_qty",
)


class MarketLane:
    """Implements `canonicalflow.backtest._loop.OurLane` for a backtest session."""

    def __init__(
        self,
        core: Core,
        sequencer: Sequencer,
        recorder: Recorder,
        driver: StrategyDriver,
        view: View,
        checkpoint_every: int = 0,
    ) -> None:
        self._checkpoint_every = checkpoint_every  # the sequencer checkpoints after these positions
        self._core, self._sequencer, self._recorder = core, sequencer, recorder
        self._driver, self._view = driver, view
        self._batch: pa.RecordBatch | None = None
        self._columns: dict[str, np.ndarray] = {}
        self._events: LazyEvents | None = None  # the batch's rows as Events, for the sequencer
        self._event_rows: EventRows | None = None
        self._applied = 0  # rows of the batch in State

    def quiet(self) -> bool:
        return self._core.idle()

    def feed_rows(self, batch: pa.RecordBatch, due: int | None = None) -> tuple[int, bool]:
        """Rows in stream order until one's decision acts, a checkpoint falls due, or the batch
        ends: (rows fed, whether the strategy acted)."""
        if due is not None:  # the timer wakes us before the first row received at or after `due`
            batch = batch.slice(0, _before_due(batch, due))
            if not batch.num_rows:
                return 0, False
        base = self._core.position + 1  # rows take the next positions, one each, while we stay here
        positions = pa.array(np.arange(base, base + batch.num_rows, dtype=np.int64))
        self._batch = batch.set_column(0, EVENT_SCHEMA.field("position"), positions)
        self._columns = {
            name: batch.column(name).to_numpy().astype(np.int64, copy=False) for name in _COLUMNS
        }
        self._columns["position"] = positions.to_numpy()
        self._events, self._applied = LazyEvents(self._batch), 0
        self._event_rows = EventRows(self._batch)
        checkpoint = self._checkpoint_row(base, batch.num_rows)
        folding = batch.num_rows if checkpoint is None else checkpoint
        foldable = self._core.foldable({name: column[:folding] for name, column in self._columns.items()})
        for start, end, fold in runs(foldable):
            done = self._run(start, end) if fold else self._one_by_one(start, end)
            if done is not None:
                return done
        if checkpoint is None:
            return batch.num_rows, False
        done = self._one_by_one(checkpoint, checkpoint + 1)  # the sequencer takes the checkpoint after it
        return done if done is not None else (checkpoint + 1, False)  # the CHECKPOINT took a position

    def _checkpoint_row(self, base: int, rows: int) -> int | None:
        """The row at whose position a checkpoint is due (`run.checkpoint_every`), if one of `rows`
        rows numbered from position `base` is; that row goes through the sequencer, which takes it.
        Twin: `Sequencer._apply` (a checkpoint after each multiple of `checkpoint_every`)."""
        every = self._checkpoint_every
        if not every:
            return None
        row = -base % every  # the first multiple of `every` at or after `base`, counted from it
        return row if row < rows else None

    # ------------------------------------------------------------------ runs
    def _one_by_one(self, start: int, end: int) -> tuple[int, bool] | None:
        """Rows the Core cannot fold in bulk, through the sequencer; stop once anything else is
        recorded (a decision, a checkpoint): the next rows' positions are no longer known."""
        for row in range(start, end):
            decisions = self._sequencer.decisions
            self._sequencer.feed(self._event(row))
            self._applied = row + 1
            acted = self._sequencer.decisions > decisions
            if acted or self._core.position != self._columns["position"][row] or not self.quiet():
                return row + 1, acted
        return None

    def _run(self, start: int, end: int) -> tuple[int, bool] | None:
        """A run of foldable rows, cut after each row where an equity sample falls due."""
        if not self._driver.started:  # `on_start` is called on the first market event
            if (done := self._one_by_one(start, start + 1)) is not None:
                return done
            start += 1
        first, latest = start, np.maximum.accumulate(self._columns["ts_receive"][start:end])
        while start < end:
            stop = self._sample_cut(start, end, latest[start - first :])
            if self._driver.asks_market and (acted := self._decide(start, stop)) is not None:
                return acted, True
            self._apply(self._applied, stop)
            start = stop
        return None

    def _sample_cut(self, start: int, end: int, latest: np.ndarray) -> int:
        """The end of the rows before an equity sample, inclusive of the row that makes it due.

        `latest[i]` is the latest receive time of the run up to row `start + i`. The rows before
        `start` are in State, so the clock each row leaves is the larger of the Core's clock and
        `latest[i]`: a sample falls due at the first row whose `latest` reaches it, unless it is
        already due. One search per cut, not a pass over the rest of the run (sparse data is cut
        every few rows).
        """
        due_at = self._recorder.next_sample
        due = 0 if self._core.now >= due_at else int(np.searchsorted(latest, due_at, side="left"))
        return start + due + 1 if due < end - start else end

    def _decide(self, start: int, stop: int) -> int | None:
        """Ask the strategy about each row in order; State catches up only when it is read.

        The first row that returns actions ends the lane's run: State is brought to it, and its
        intents are decided as the sequencer decides them after an event.
        """
        view = self._view
        settled, view.catch_up = view.catch_up, self._catch_up
        try:
            assert self._event_rows is not None
            acting = self._driver.first_acting(self._event_rows, start, stop)
        finally:
            view.catch_up = settled
        if acting is None:
            return None
        row, intents = acting
        self._apply(self._applied, row + 1)
        self._sequencer.decide(intents)
        return row + 1

    def _catch_up(self) -> None:
        """Bring State to the row being decided on."""
        self._apply(self._applied, self._driver.deciding_row + 1)

    def _apply(self, start: int, end: int) -> None:
        """Rows [start, end) into State, the journal and the books as received."""
        if end <= start:
            return
        self._applied = end
        if end - start < _SHORT:
            for row in range(start, end):
                self._sequencer.fold(self._event(row))
            return
        columns = {name: column[start:end] for name, column in self._columns.items()}
        digest_before = self._core.digest
        sealed = self._core.apply_columns(columns)
        assert self._batch is not None
        self._recorder.record_market_batch(self._batch.slice(start, end - start), digest_before, sealed)
        self._recorder.sample_if_due()  # runs end on the row that makes a sample due

    def _event(self, row: int) -> Event:
        """Row `row` as an Event tuple, for the sequencer."""
        assert self._events is not None
        return self._events[row]


def _before_due(batch: pa.RecordBatch, due: int) -> int:
    """How many rows come before the timer's wake-up at `due`: the sequencer records it before the
    first row received at or after it (a row whose receive time is known to be bad moves no clock).
    Twin: `Sequencer.feed` (a WAKEUP recorded before the input that reaches its due time)."""
    received = batch.column("ts_receive").to_numpy()
    moves_clock = batch.column("flags").to_numpy() & _BAD_RECEIVE == 0
    after = np.flatnonzero(moves_clock & (received >= due))
    return int(after[0]) if len(after) else batch.num_rows
