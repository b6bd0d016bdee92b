"""Twins: every batch form of a per-event rule, checked against that rule on its own.

A batch form (a column fold, a merge in Arrow batches, a cadence over a batch's rows, a timer or
checkpoint found by array search, a journal written a batch at a time) either calls its per-event
rule or is held equal to it here. Each pair is in `TWINS` with its two dotted names; for each, the
two forms run on the same small seeded input and must give identical results. Each form's docstring
names the other ("Twin: `...`"): `test_each_twin_names_the_other` holds the table to the code.

Inputs are drawn by Hypothesis, derandomised and bounded (no deadlines), so a disagreement
shrinks to a minimal example and the file stays well under half a minute.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import random
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canonicalflow.backtest._lane import MarketLane, _before_due
from canonicalflow.backtest._order_log import OrderLog
from canonicalflow.backtest._recorder import Recorder
from canonicalflow.book import ASK, BID
from canonicalflow.config import BookModel, CoreConfig, Instrument
from canonicalflow.data import MergeOrder, Store, feed, feed_batches
from canonicalflow.events import EVENT_SCHEMA, Event, EventKind, EventRows, Flag, iter_events, to_record_batch
from canonicalflow.journal import FsyncPolicy, JournalReader, JournalWriter
from canonicalflow.queue import QueuedBook
from canonicalflow.risk import RiskConfig, RiskEngine
from canonicalflow.runtime import Sequencer
from canonicalflow.state import Core, Reader, StepResult
from canonicalflow.state._digest import DigestChain, market_record
from canonicalflow.strategy import BUY, SELL, Cadence, Cancel, New, NoParams, Strategy, StrategyDriver, View
from canonicalflow.testing import store_table, synthetic_l2


class Twin(NamedTuple):
    name: str  # the test id
    per_event: str  # the per-event rule, dotted
    batch: str  # its batch form, dotted


TWINS = (
    Twin(
        "digest",
        "canonicalflow.state._digest.DigestChain.add",
        "canonicalflow.state._digest.DigestChain.add_market_records",
    ),
    Twin("core-fold", "canonicalflow.state._core.Core.apply", "canonicalflow.state._core.Core.apply_columns"),
    Twin(
        "book-fold",
        "canonicalflow.queue._book.QueuedBook.apply",
        "canonicalflow.queue._book.QueuedBook.set_levels",
    ),
    Twin("merge", "canonicalflow.data._feeder.feed", "canonicalflow.data._feeder.feed_batches"),
    Twin(
        "cadence",
        "canonicalflow.strategy._driver.StrategyDriver.__call__",
        "canonicalflow.strategy._driver.StrategyDriver.first_acting",
    ),
    Twin(
        "timers",
        "canonicalflow.runtime._sequencer.Sequencer.feed",
        "canonicalflow.backtest._lane._before_due",
    ),
    Twin(
        "checkpoints",
        "canonicalflow.runtime._sequencer.Sequencer._apply",
        "canonicalflow.backtest._lane.MarketLane._checkpoint_row",
    ),
    Twin(
        "journal",
        "canonicalflow.backtest._recorder.Recorder.record",
        "canonicalflow.backtest._recorder.Recorder.record_market_batch",
    ),
)

CHECKS: dict[str, Callable[[Path], None]] = {}  # Twin.name -> the check, filled in below


@pytest.mark.parametrize("twin", TWINS, ids=[t.name for t in TWINS])
def test_twins_agree(twin: Twin, tmp_path: Path) -> None:
    CHECKS[twin.name](tmp_path)


@pytest.mark.parametrize("twin", TWINS, ids=[t.name for t in TWINS])
def test_each_twin_names_the_other(twin: Twin) -> None:
    """Each form's docstring says "Twin: `X`", X the other's dotted name or a tail of it."""
    for mine, other in ((twin.per_event, twin.batch), (twin.batch, twin.per_event)):
        named = re.findall(r"Twin: `([^`]+)`", inspect.getdoc(_resolve(mine)) or "")
        assert any(_names(name, other) for name in named), f"{mine} does not name its twin {other}: {named}"


def _resolve(dotted: str) -> Any:
    """The object a dotted name names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


def _names(named: str, dotted: str) -> bool:
    """`named` is `dotted` or a tail of it (`add`, `Core.apply`, `_lane._before_due`)."""
    return dotted == named or dotted.endswith("." + named)


def _check(name: str) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    def register(check: Callable[[Path], None]) -> Callable[[Path], None]:
        CHECKS[name] = check
        return check

    return register


BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ----------------------------------------------------------------------------- shared inputs
_K = EventKind
LAST, SNAPSHOT, BAD = int(Flag.LAST_IN_PACKET), int(Flag.SNAPSHOT), int(Flag.BAD_RECEIVE_TS)
INSTRUMENTS = (
    Instrument(id=1, symbol="ONE", tick_size="0.01", lot_size="1"),
    Instrument(id=2, symbol="TWO", tick_size="0.5", lot_size="1"),
)
UNKNOWN = 3  # an instrument no configuration lists
BLOCKS = st.sampled_from((1, 3, 7, 4096))


def _core_config(block: int = 1, timer_ns: int = 0) -> CoreConfig:
    return CoreConfig(version="twins", instruments=INSTRUMENTS, digest_block=block, timer_ns=timer_ns)


def _market(rng: random.Random, n: int, rough: bool = True, start: int = 1_000_000) -> list[Event]:
    """`n` market events at positions 1..n: level sets (some flagged SNAPSHOT, with or without
    LAST_IN_PACKET), trades and tops of book on instruments 1 and 2. `rough` adds what a fold must
    leave to the event-by-event rule: bad sides, negative sizes, an unknown instrument, receive
    times known to be bad (earlier or later than the clock), unflagged times going back, and book
    clears, snapshot bounds, a trading status and an order event (refused by an L2 book)."""
    events: list[Event] = []
    ts = start
    for position in range(1, n + 1):
        ts += rng.choice((0, 0, 1, 3, 50))
        receive, flags = ts, LAST if rng.random() < 0.6 else 0
        instrument = rng.choice((1, 1, 2, UNKNOWN) if rough else (1, 1, 2))
        if rough and rng.random() < 0.05:
            flags |= BAD
            receive = ts + rng.choice((-5_000, -1, 1, 5_000))
        elif rough and rng.random() < 0.03:
            receive = ts - rng.randint(1, 40)  # out of order, unflagged: the clock stays where it is
        common = {
            "position": position,
            "ts_exchange": ts - 7,
            "ts_receive": receive,
            "instrument": instrument,
        }
        draw = rng.random()
        if draw < 0.6:
            side = rng.choice((BID, ASK))
            qty = rng.choice((0, rng.randint(1, 9), rng.randint(1, 9)))
            if rough and rng.random() < 0.04:
                side = rng.choice((0, 2))
            if rough and rng.random() < 0.04:
                qty = -rng.randint(1, 5)
            if rng.random() < 0.2:
                flags |= SNAPSHOT
            price = 100 + rng.randint(0, 8) * (1 if side == ASK else -1)
            events.append(
                Event(kind=int(_K.LEVEL_SET), flags=flags, side=side, price=price, qty=qty, **common)
            )
        elif draw < 0.75:
            side, price = rng.choice((BID, ASK, 0)), 100 + rng.randint(-6, 6)
            qty = rng.randint(1, 20)
            events.append(
                Event(
                    kind=int(_K.TRADE),
                    flags=flags,
                    side=side,
                    price=price,
                    qty=qty,
                    trade_id=position,
                    **common,
                )
            )
        elif draw < 0.9 or not rough:
            bid = 100 - rng.randint(0, 3)
            events.append(
                Event(
                    kind=int(_K.BBO),
                    flags=flags,
                    bid_price=bid,
                    bid_qty=rng.randint(1, 9),
                    ask_price=bid + rng.randint(1, 4),
                    ask_qty=rng.randint(1, 9),
                    **common,
                )
            )
        else:
            kind = rng.choice(
                (_K.BOOK_CLEAR, _K.SNAPSHOT_BEGIN, _K.SNAPSHOT_END, _K.TRADING_STATUS, _K.ORDER_ADD)
            )
            extra = {"order_id": position, "side": BID, "price": 99, "qty": 1} if kind == _K.ORDER_ADD else {}
            events.append(Event(kind=int(kind), flags=flags, **extra, **common))
    return events


def _columns(batch: pa.RecordBatch) -> dict[str, np.ndarray]:
    return {name: batch.column(name).to_numpy().astype(np.int64) for name in batch.schema.names}


def _segments(mask: np.ndarray, cuts: list[int]) -> list[tuple[int, int, bool]]:
    """[start, end) runs of equal `mask` values, also cut at `cuts`: (start, end, foldable)."""
    n = len(mask)
    edges = sorted(
        {0, n, *(c for c in cuts if 0 < c < n), *(np.flatnonzero(mask[1:] != mask[:-1]) + 1).tolist()}
    )
    return [(s, e, bool(mask[s])) for s, e in itertools.pairwise(edges)]


def _digests_after(before: bytes, sealed: list[tuple[int, bytes]], rows: int) -> list[bytes]:
    """The digest after each of `rows` rows, from the blocks a batch form sealed (row -1: before
    the first row): what `Recorder.record_market_batch` reports for each position."""
    out, current, closed = [], before, 0
    for row in range(rows):
        while closed < len(sealed) and sealed[closed][0] <= row:
            current = sealed[closed][1]
            closed += 1
        out.append(current)
    return out


# ------------------------------------------------------------------ 1. digest records and blocks
@_check("digest")
def _digest(tmp: Path) -> None:
    _digest_chain()


@settings(BOUNDED, max_examples=60)
@given(
    block=BLOCKS,
    gaps=st.lists(
        st.one_of(st.just(1), st.integers(1, 9), st.sampled_from((4095, 4096, 4097))), min_size=1, max_size=60
    ),
    prefix=st.integers(0, 12),
    cuts=st.lists(st.integers(1, 59), max_size=4),
    seed=st.integers(0, 2**16),
)
def _digest_chain(block: int, gaps: list[int], prefix: int, cuts: list[int], seed: int) -> None:
    """Positions (with skips) record by record into one chain; into the other, the first `prefix`
    record by record and the rest as runs of binary records."""
    rng = random.Random(seed)
    positions = np.cumsum(gaps).astype(np.int64)
    records = [
        market_record(
            int(p),
            1000 + int(p),
            rng.choice((6, 9, 10)),
            rng.randint(1, 2),
            tuple(rng.randint(-9, 9) for _ in range(6)),
        )
        for p in positions
    ]
    one, batched = DigestChain(block), DigestChain(block)
    after_one = []
    for position, record in zip(positions.tolist(), records, strict=True):
        one.add(position, record)
        after_one.append(one.digest)
    prefix = min(prefix, len(records))
    after_batched = []
    for position, record in zip(positions[:prefix].tolist(), records[:prefix], strict=True):
        batched.add(position, record)
        after_batched.append(batched.digest)
    for start, end, _ in _segments(np.ones(len(records) - prefix, bool), cuts):
        start, end = start + prefix, end + prefix
        before = batched.digest
        sealed = batched.add_market_records(positions[start:end], b"".join(records[start:end]))
        after_batched += _digests_after(before, sealed, end - start)
    assert after_batched == after_one  # the sealed blocks land on the rows where `add` seals them
    assert batched.digest == one.digest
    assert batched.current() == one.current()
    assert b"".join(batched.records) == b"".join(one.records)
    assert batched.open_end == one.open_end


# ------------------------------------------------------------ 2. level and quote fold, the clock
@_check("core-fold")
def _core_fold_check(tmp: Path) -> None:
    _core_fold()


@settings(BOUNDED, max_examples=80)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    block=BLOCKS,
    cuts=st.lists(st.integers(0, 300), max_size=5),
)
def _core_fold(seed: int, n: int, block: int, cuts: list[int]) -> None:
    """`Core.apply` one event at a time against `Core.apply_columns` on the rows `Core.foldable`
    allows (also cut at `cuts`), the rest one at a time."""
    events = _market(random.Random(seed), n)
    one, folded = Core(_core_config(block)), Core(_core_config(block))
    after_one, changes = [], []
    for ev in events:
        changes.append(one.apply(ev).changes)
        after_one.append(one.digest)
    columns = _columns(to_record_batch(events))
    mask = folded.foldable(columns)
    for row in np.flatnonzero(mask).tolist():  # the mask's promise: exactly one change, recorded in binary
        assert len(changes[row]) == 1 and changes[row][0][0] in ("level", "quote"), (
            events[row],
            changes[row],
        )
    after_folded: list[bytes] = []
    for start, end, fold in _segments(mask, cuts):
        if fold:
            before = folded.digest
            sealed = folded.apply_columns({name: column[start:end] for name, column in columns.items()})
            after_folded += _digests_after(before, sealed, end - start)
        else:
            for ev in events[start:end]:
                folded.apply(ev)
                after_folded.append(folded.digest)
    assert after_folded == after_one
    assert folded.current_digest() == one.current_digest()
    assert folded.snapshot() == one.snapshot()  # the whole of State, the clock and the open block included


# ------------------------------------------------------------------------------ 3. book fold
@_check("book-fold")
def _book_fold_check(tmp: Path) -> None:
    _book_fold()


@settings(BOUNDED, max_examples=80)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 200),
    prefix=st.integers(0, 30),
    cuts=st.lists(st.integers(0, 200), max_size=5),
)
def _book_fold(seed: int, n: int, prefix: int, cuts: list[int]) -> None:
    """Level sets (some snapshot rows, some closing a snapshot) on an L2 book with no places of
    ours: `QueuedBook.apply` one by one against `QueuedBook.set_levels` on runs of them, after a
    common prefix applied one by one (so a run may begin inside a snapshot being rebuilt)."""
    rng = random.Random(seed)
    events = [ev for ev in _market(rng, 3 * (n + prefix), rough=False) if ev.kind == _K.LEVEL_SET][
        : n + prefix
    ]
    model = BookModel().build_queue_model()
    one, folded = QueuedBook(False, model), QueuedBook(False, model)
    for ev in events[:prefix]:
        assert one.apply(ev, _no_leaves, False) == (None, [])
        assert folded.apply(ev, _no_leaves, False) == (None, [])
    rest = events[prefix:]
    for ev in rest:
        assert one.apply(ev, _no_leaves, False) == (None, [])
    if rest:
        side, price, qty, flags = (
            np.array([getattr(ev, f) for ev in rest], np.int64) for f in ("side", "price", "qty", "flags")
        )
        for start, end, _ in _segments(np.ones(len(rest), bool), cuts):
            folded.set_levels(side[start:end], price[start:end], qty[start:end], flags[start:end])
    assert folded.to_data() == one.to_data()  # levels, places (none), consumed, the snapshot's mark
    assert [folded.best_price(s) for s in (BID, ASK)] == [one.best_price(s) for s in (BID, ASK)]


def _no_leaves(key: int) -> int:
    return 0


# ---------------------------------------------------------------------------------- 4. merge
@_check("merge")
def _merge(tmp: Path) -> None:
    """Two datasets in a store, as the backtest reads them: their receive and exchange times tie
    across files, and go back now and then within one (some flagged BAD_RECEIVE_TS)."""
    for seed in (1, 2):
        root = tmp / f"store-{seed}"
        store_table(_dataset(seed, 1, 150), root, "test/ONE/2000-01-01", "0.01", "1")
        store_table(_dataset(seed + 10, 2, 120), root, "test/TWO/2000-01-01", "0.5", "1")
        one, two = (Store(root).data_file(f"test/{s}/2000-01-01") for s in ("ONE", "TWO"))
        for paths in ([one, two], [two, one], [one]):
            for order in MergeOrder:
                for rows in (1, 7, 65_536):
                    events = list(feed(paths, order, batch_rows=rows))
                    batched = [
                        ev
                        for batch in feed_batches(paths, order, batch_rows=rows)
                        for ev in iter_events(batch)
                    ]
                    assert batched == events, (seed, [p.parent.parent.name for p in paths], order, rows)
                    assert [ev.position for ev in events] == list(range(1, len(events) + 1))


def _dataset(seed: int, instrument: int, n: int) -> pa.Table:
    """`synthetic_l2` with its times moved onto a coarse grid (ties with the other file), a few
    steps back, and some receive times flagged bad."""
    rng = random.Random(seed)
    table = synthetic_l2(n, seed, instrument)
    exchange = table.column("ts_exchange").to_numpy().copy()
    receive = table.column("ts_receive").to_numpy().copy()
    flags = table.column("flags").to_numpy().copy()
    grid = 5 * (exchange[1] - exchange[0]) if n > 1 else 1
    exchange = (exchange // grid) * grid
    receive = exchange + rng.choice((0, 1))
    for row in range(n):
        draw = rng.random()
        if draw < 0.05:
            exchange[row] -= grid  # the venue's time steps back
        elif draw < 0.1:
            receive[row] -= 3 * grid
            flags[row] |= BAD
        elif draw < 0.13:
            receive[row] -= grid  # back, unflagged
    for name, values in (("ts_exchange", exchange), ("ts_receive", receive), ("flags", flags)):
        index = EVENT_SCHEMA.get_field_index(name)
        table = table.set_column(
            index, EVENT_SCHEMA.field(name), pa.array(values, EVENT_SCHEMA.field(name).type)
        )
    return table


# -------------------------------------------------------------------------------- 5. cadence
class _Recording(Strategy[NoParams]):
    """Writes down every hook call and what it saw; acts on some events, answers empty on others."""

    def __init__(self, act: int) -> None:
        super().__init__()
        self.act = act
        self.log: list[tuple[Any, ...]] = [("created",)]

    def on_start(self, view: View) -> None:
        self.log.append(("start",))

    def on_book(self, view: View, ev: Any) -> list[Any] | None:
        return self._answer("book", ev)

    def on_trade(self, view: View, ev: Any) -> list[Any] | None:
        return self._answer("trade", ev)

    def _answer(self, hook: str, ev: Any) -> list[Any] | None:
        record = ev.record()
        self.log.append((hook, record))
        if record.position % self.act == 0:
            return [New(BUY if record.position % 2 else SELL, 100 + record.position % 5, 1, instrument=1)]
        if record.position % self.act == 1:
            return [Cancel(7)]
        if record.position % self.act == 2:
            return []  # an empty answer does not act
        return None


class _Choosy(_Recording):
    """`wants` overridden: the driver cannot take its fast path."""

    def wants(self, view: View, ev: Any) -> bool:
        self.log.append(("wants", ev.record().position))
        return ev.position % 4 != 3


@_check("cadence")
def _cadence_check(tmp: Path) -> None:
    _cadence()


@settings(BOUNDED, max_examples=100)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 120),
    every=st.sampled_from((1, 3)),
    packet_end=st.booleans(),
    on=st.sampled_from((("book",), ("trade",), ("book", "trade"))),
    choosy=st.booleans(),
    act=st.integers(3, 40),
)
def _cadence(
    seed: int, n: int, every: int, packet_end: bool, on: tuple[str, ...], choosy: bool, act: int
) -> None:
    """`StrategyDriver.__call__` at every market event against `first_acting` over the batch's
    rows, asked again after each acting row (as the lane does). Both are started by `__call__` on
    the first row: the lane hands that row to the sequencer, since `first_acting` never calls `on_start`."""
    events = _market(random.Random(seed), n)
    cadence = Cadence(on=on, every=every, packet_end=packet_end)
    strategies, drivers, cores = [], [], []
    for _ in range(2):
        cores.append(Core(_core_config()))  # an empty State: the hooks here do not read it
        strategies.append((_Choosy if choosy else _Recording)(act))
        drivers.append(StrategyDriver(strategies[-1], View(cores[-1]), cadence))
    one, batched = drivers
    acting_one, acting_batched = [], []
    for row, ev in enumerate(events):
        if intents := one(cores[0], ev, StepResult(ev.position, b"", ())):
            acting_one.append((row, intents))
    first = batched(cores[1], events[0], StepResult(1, b"", ()))
    if first:
        acting_batched.append((0, first))
    rows, start = EventRows(to_record_batch(events)), 1
    while (found := batched.first_acting(rows, start, n)) is not None:
        acting_batched.append(found)
        start = found[0] + 1
    assert strategies[1].log == strategies[0].log  # the same hooks, on the same events, in order
    assert acting_batched == acting_one  # the same acting rows, the same intents (ids included)
    assert batched.decisions == one.decisions


# --------------------------------------------------------------------------------- 6. timers
@_check("timers")
def _timers_check(tmp: Path) -> None:
    _timers()


@settings(BOUNDED, max_examples=100)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    timer=st.sampled_from((1, 7, 100, 1_000)),
)
def _timers(seed: int, n: int, timer: int) -> None:
    """The rows `_before_due` leaves before the timer's wake-up against the inputs a Sequencer
    (a Core with `timer_ns`) records before its first WAKEUP, fed the same rows one at a time.

    The Sequencer is the smallest real wiring of the rule: `Sequencer.feed` advances to each
    input's receive time unless flagged bad, and the Core's obligation says when the timer is due."""
    rng = random.Random(seed)
    core = Core(_core_config(timer_ns=timer))
    recorded: list[Event] = []
    sequencer = Sequencer(core, recorded.append, _allow)
    start = 1_000_000 + rng.randint(0, timer)
    sequencer.feed(
        Event(
            kind=int(_K.LEVEL_SET),
            ts_exchange=start,
            ts_receive=start,
            instrument=1,
            side=BID,
            price=99,
            qty=1,
        )
    )
    due = sequencer.next_due()
    assert due is not None and due > core.now
    events = []
    ts = core.now
    for _ in range(n):
        ts += rng.choice((0, 0, 1, timer // 3, timer // 2))
        receive, flags = ts, LAST
        draw = rng.random()
        if draw < 0.15:
            receive, flags = (
                ts + rng.choice((timer, 10 * timer, -timer)),
                LAST | BAD,
            )  # known bad: moves no clock
        elif draw < 0.2:
            receive = ts - rng.randint(1, timer + 1)  # back, unflagged
        events.append(
            Event(
                kind=int(_K.TRADE),
                ts_exchange=ts,
                ts_receive=receive,
                instrument=1,
                flags=flags,
                price=100,
                qty=1,
            )
        )
    before = _before_due(to_record_batch(events), due)
    recorded.clear()
    for ev in events:
        sequencer.feed(ev)
    wakeups = [i for i, ev in enumerate(recorded) if ev.kind == _K.WAKEUP]
    inputs_first = wakeups[0] if wakeups else len(recorded)
    assert sum(ev.kind < 20 for ev in recorded[:inputs_first]) == before
    if wakeups:
        assert recorded[wakeups[0]].due_ts == due


def _allow(intent: Any) -> int:
    return 0


# ---------------------------------------------------------------------------- 7. checkpoints
@_check("checkpoints")
def _checkpoints_check(tmp: Path) -> None:
    _checkpoints()


@settings(BOUNDED, max_examples=100)
@given(
    every=st.one_of(st.integers(1, 12), st.just(4096)),
    prefix=st.integers(0, 30),
    rows=st.integers(1, 30),
    seed=st.integers(0, 2**16),
)
def _checkpoints(every: int, prefix: int, rows: int, seed: int) -> None:
    """The row `MarketLane._checkpoint_row(base, rows)` names against the first of the same rows
    after which the Sequencer records a CHECKPOINT, starting wherever earlier inputs (and their
    checkpoints) left the position. A real Sequencer and a real lane over one Core, wired as a
    backtest session wires them; nothing else records (no strategy, no timer).

    The session is opened first, as `Session.open_session` does before any market data: on a Core
    that has applied nothing (position -1) the lane's `base` would be 0, not the 1 the sequencer
    gives the first input; the lane then finds the position it expected was not taken and leaves
    after that row (`MarketLane._one_by_one`), so the rule is held where the lane runs."""
    pieces = _pieces(Core(_core_config()), checkpoint_every=every)
    pieces.sequencer.feed(Event(kind=int(_K.SESSION_START), ts_exchange=999_999, ts_receive=999_999))
    events = _market(random.Random(seed), prefix + rows)
    for ev in events[:prefix]:
        pieces.sequencer.feed(ev)
    base = pieces.core.position + 1
    predicted = pieces.lane._checkpoint_row(base, rows)
    found = None
    for row, ev in enumerate(events[prefix:]):
        seen = len(pieces.recorded)
        pieces.sequencer.feed(ev)
        if any(e.kind == _K.CHECKPOINT for e in pieces.recorded[seen:]):
            found = row
            break
    assert predicted == found, (every, base, rows)


class _Pieces(NamedTuple):
    core: Core
    recorder: Recorder
    sequencer: Sequencer
    lane: MarketLane
    recorded: list[Event]


def _pieces(
    core: Core,
    checkpoint_every: int = 0,
    journal: JournalWriter | None = None,
    digests: list[tuple[int, bytes]] | None = None,
) -> _Pieces:
    """A backtest session's wiring around `core` (`canonicalflow.backtest._session.Session`,
    without its configuration): recorder, a strategy that is never asked, sequencer, lane."""
    reader = Reader(core)
    risk = RiskEngine(RiskConfig(), reader)
    recorder = Recorder(
        core,
        OrderLog(core),
        reader,
        risk,
        50_000_000,
        journal,
        None if digests is None else lambda p, d: digests.append((p, d)),
    )
    view = View(core)
    driver = StrategyDriver(_Recording(10**9), view, Cadence(on=()))
    recorded: list[Event] = []

    def record(ev: Event) -> None:
        recorder.record(ev)
        recorded.append(ev)

    sequencer = Sequencer(core, record, risk, driver, checkpoint_every=checkpoint_every)
    lane = MarketLane(core, sequencer, recorder, driver, view, checkpoint_every=checkpoint_every)
    return _Pieces(core, recorder, sequencer, lane, recorded)


# --------------------------------------------------------------------------- 8. journal batches
@_check("journal")
def _journal_check(tmp: Path) -> None:
    _journal(tmp=tmp)


@settings(BOUNDED, max_examples=30)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 250),
    block=BLOCKS,
    cuts=st.lists(st.integers(0, 250), max_size=4),
)
def _journal(tmp: Path, seed: int, n: int, block: int, cuts: list[int]) -> None:
    """`Recorder.record` after each `Core.apply` against `Recorder.record_market_batch` after
    `Core.apply_columns` on the foldable runs (the rest one at a time): the same journal, read back,
    and the same digest reported for every position (and at the end)."""
    events = _market(random.Random(seed), n)
    batch = to_record_batch(events)
    columns = _columns(batch)
    folder = Path(tempfile.mkdtemp(dir=tmp))
    results = []
    for batched in (False, True):
        digests: list[tuple[int, bytes]] = []
        with JournalWriter(folder / f"journal-{batched}", FsyncPolicy.NEVER) as journal:
            pieces = _pieces(Core(_core_config(block)), journal=journal, digests=digests)
            core, recorder = pieces.core, pieces.recorder
            mask = core.foldable(columns) if batched else np.zeros(n, bool)
            for start, end, fold in _segments(mask, cuts):
                if fold:
                    before = core.digest
                    sealed = core.apply_columns({name: column[start:end] for name, column in columns.items()})
                    recorder.record_market_batch(batch.slice(start, end - start), before, sealed)
                else:
                    for ev in events[start:end]:
                        core.apply(ev)
                        recorder.record(ev)
            recorder.finish()
        if batched:
            assert recorder.folded > 0 or not mask.any()
        results.append(
            (
                list(JournalReader(folder / f"journal-{batched}").events()),
                digests,
                (recorder.recorded, recorder.market_events),
                core.snapshot(),
            )
        )
    one, folded = results
    assert folded[0] == one[0] == events  # the journal holds every event, in order
    assert folded[1] == one[1]  # one digest per position, then the final one
    assert folded[2] == one[2]
    assert folded[3] == one[3]
