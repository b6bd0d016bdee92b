"""What a run keeps besides State: the journal, and the rows of the fills, equity and queue tables.

It hears every recorded event right after the Core applied it, feeds the order log (the orders
table), appends the event to the journal, and samples equity and queue places from State on a
fixed grid of event time. Digests go to `digests` when asked, one per
position, for the determinism check.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import pyarrow as pa

from canonicalflow.backtest._order_log import OrderLog
from canonicalflow.events import Event, EventKind, to_record_batch
from canonicalflow.journal import JournalWriter
from canonicalflow.portfolio import Money
from canonicalflow.risk import RiskEngine
from canonicalflow.state import Core, Reader

__all__ = ["Recorder"]

_FILL = EventKind.FILL
_MOVES_POSITION = frozenset((EventKind.FILL, EventKind.TRADE_BUST, EventKind.TRADE_CORRECT))
_JOURNAL_BATCH = 65_536
_OWN_FRAME = 4_096  # rows from which a batch is written as a frame of its own, without a copy


class Recorder:
    def __init__(
        self,
        core: Core,
        orders: OrderLog,
        view: Reader,
        risk: RiskEngine,
        sample_ns: int,
        journal: JournalWriter | None = None,
        digests: Callable[[int, bytes], None] | None = None,
    ) -> None:
        self._core, self._orders, self._view, self._risk = core, orders, view, risk
        self._sample_ns = sample_ns
        self._next_sample = 0
        self._journal, self._digests = journal, digests
        self._journal_after = 0  # events at or before this position are in the journal already
        self._pending: list[Event] = []  # recorded one by one, not yet in `_batches`
        self._batches: list[pa.RecordBatch] = []  # for the journal's next frame, in stream order
        self._batched = 0  # rows in `_batches`
        self.recorded = 0
        self.market_events = 0
        self.folded = 0  # market events recorded a batch at a time
        self.fills: list[tuple[object, ...]] = []
        self.equity: list[tuple[object, ...]] = []
        self.queue: list[tuple[object, ...]] = []
        self._symbol = {i: view.instrument(i).symbol for i in view.instruments}
        self._fills_seen: dict[int, int] = {}  # instrument -> fills its position had counted
        self._last_sample = -1

    def record(self, ev: Event) -> None:
        """One event, right after the Core applied it. Twin: `Recorder.record_market_batch`."""
        core = self._core
        self._orders.apply(ev)
        self.recorded += 1
        if ev.kind < 20:
            self.market_events += 1
        if self._journal is not None and ev.position > self._journal_after:
            self._pending.append(ev)
            if len(self._pending) + self._batched >= _JOURNAL_BATCH:
                self.flush()
        if self._digests is not None:
            self._digests(ev.position, core.digest)
        if ev.kind in _MOVES_POSITION:  # a bust lowers the count, so the next fill counts again
            before, self._fills_seen = (
                self._fills_seen,
                {i: h.fills for i, h in core.portfolio.holdings.items()},
            )
            if ev.kind == _FILL and self._fills_seen.get(ev.instrument, 0) > before.get(ev.instrument, 0):
                self._fill(ev)  # the Core took it: not a refused duplicate or overfill
        self.sample_if_due()

    def record_market_batch(
        self, batch: pa.RecordBatch, digest_before: bytes, sealed: list[tuple[int, bytes]]
    ) -> None:
        """Market events the Core folded as one batch (`canonicalflow.backtest._lane`): recorded as
        `record` would record them one by one while none of our orders works (no fills, no places).
        `sealed` lists the digest blocks the fold closed, as `Core.apply_columns` returns them.
        Twin: `Recorder.record`."""
        if self._journal is not None:
            self._hold_pending()
            self._batches.append(batch)
            self._batched += batch.num_rows
            if self._batched >= _JOURNAL_BATCH:
                self.flush()
        self.recorded += batch.num_rows
        self.market_events += batch.num_rows
        self.folded += batch.num_rows
        if self._digests is not None:  # what `Core.digest` was after each row, as `record` reports it
            current, closed = digest_before, 0
            for row, position in enumerate(batch.column("position").to_pylist()):
                while closed < len(sealed) and sealed[closed][0] <= row:
                    current = sealed[closed][1]
                    closed += 1
                self._digests(position, current)

    def attach(self, journal: JournalWriter, after: int = 0) -> None:
        """Journal every event recorded from now on whose position is after `after`: a live node
        restarted on its journal records the journal's events again, and appends only what is new."""
        self._journal, self._journal_after = journal, after

    @property
    def next_sample(self) -> int:
        """The event time at which the next equity and queue sample is due."""
        return self._next_sample

    def sample_if_due(self) -> None:
        core = self._core
        if core.now >= self._next_sample and core.position > 0:
            self._sample(core.now)
            self._next_sample = (core.now // self._sample_ns + 1) * self._sample_ns

    def flush(self) -> None:
        """Everything recorded so far into the journal, acknowledged at once."""
        self._hold_pending()
        if self._journal is not None and self._batches:
            self._journal.append_all(_framed(self._batches))  # one fsync for them all
            self._batches, self._batched = [], 0

    def _hold_pending(self) -> None:
        """Events recorded one by one join the next frame, behind the batches before them."""
        if self._pending:
            self._batches.append(to_record_batch(self._pending))
            self._batched += len(self._pending)
            self._pending = []

    def finish(self) -> None:
        """The last sample at the end of the stream (unless one was just taken), the journal's last
        batch, and the digest over every position (the chain's open block included)."""
        if self._core.now != self._last_sample:
            self._sample(self._core.now)
        self.flush()
        if self._digests is not None:
            self._digests(self._core.position, self._core.current_digest())

    def _fill(self, ev: Event) -> None:
        view, money, i = self._view, self._view.money, ev.instrument
        mid = view.book(i).mid()
        record = self._orders.record(ev.client_order_id)
        ahead = record.queue_ahead_at_ack if record is not None else math.nan
        self.fills.append(
            (
                ev.position,
                ev.ts_exchange,
                ev.ts_receive,
                i,
                self._symbol[i],
                ev.client_order_id,
                ev.trade_id,
                ev.side,
                ev.price,
                float(money.price(i, ev.price)),
                ev.qty,
                float(money.qty(i, ev.qty)),
                ev.liquidity,
                ev.fee,
                float(money.fees(i, ev.fee)),
                math.nan if mid is None else float(money.price(i, mid)),
                view.inventory(i),
                ahead if ev.liquidity == 1 else math.nan,
            )
        )

    def _sample(self, ts: int) -> None:
        view, money = self._view, self._view.money
        self._last_sample = ts
        total: Fraction | None = Fraction(0)
        for i in view.instruments:
            book = view.book(i)
            bid, ask, mid = book.best_bid(), book.best_ask(), book.mid()
            realized, unrealized, fees = money.pnl(i, view.holding(i), view.mark(i))
            pnl = None if unrealized is None else realized + unrealized - fees
            total = None if total is None or pnl is None else total + pnl
            self.equity.append(
                (
                    ts,
                    i,
                    self._symbol[i],
                    _price(money, i, bid),
                    _price(money, i, ask),
                    _price(money, i, mid),
                    view.inventory(i),
                    float(realized),
                    _value(unrealized),
                    float(fees),
                    _value(pnl),
                )
            )
        if total is not None:
            self._risk.observe(ts, total)
        for o in view.orders():
            if o.queue is not None:
                self.queue.append(
                    (
                        ts,
                        o.instrument,
                        o.client_order_id,
                        o.side,
                        o.price,
                        money.price_float(o.instrument, o.price),
                        o.queue.ahead,
                        o.queue.level,
                    )
                )

    def table(self, rows: list[tuple], schema: pa.Schema) -> pa.Table:
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
        return pa.Table.from_arrays(
            [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
        )


def _framed(batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
    """The journal frames for `batches`, in order: a large batch is a frame as it is; a run of
    small ones (sparse data cut into a few rows at every sample) is joined into one, since a frame
    costs about 0.1 ms to encode however few rows it holds."""
    frames: list[pa.RecordBatch] = []
    small: list[pa.RecordBatch] = []
    for batch in [*batches, None]:
        if batch is not None and batch.num_rows < _OWN_FRAME:
            small.append(batch)
            continue
        if small:
            frames.extend(pa.Table.from_batches(small).combine_chunks().to_batches())
            small = []
        if batch is not None:
            frames.append(batch)
    return frames


def _value(amount: Fraction | None) -> float:
    return math.nan if amount is None else float(amount)


def _price(money: Money, instrument: int, ticks: int | Fraction | None) -> float:
    return math.nan if ticks is None else money.price_float(instrument, ticks)
