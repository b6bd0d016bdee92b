"""Run a backtest: the market stream through the Core, the strategy, risk and the simulated venue.

`run(config)` writes a run directory (the journal, the five tables as Parquet, summary.json,
report.html) and returns a `BacktestResult` whose tables are Arrow tables. The wall clock is read
here, outside the engine, only to report events per second.
"""

from __future__ import annotations

import importlib
import itertools
import math
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from canonicalflow.backtest._config import BacktestConfig, DataConfig, load_config
from canonicalflow.backtest._lane import MarketLane
from canonicalflow.backtest._recorder import Recorder
from canonicalflow.backtest._report import render_report
from canonicalflow.backtest._summary import read_summary, summarize, write_summary
from canonicalflow.backtest._tables import EQUITY, FILLS, ORDERS, POSITIONS, QUEUE
from canonicalflow.config import CoreConfig, Instrument, RateLimit
from canonicalflow.data import Store, feed, feed_batches
from canonicalflow.errors import DataError
from canonicalflow.events import EVENT_SCHEMA, Event, EventKind
from canonicalflow.journal import JournalWriter
from canonicalflow.orderflow import zero_intelligence
from canonicalflow.risk import RiskEngine
from canonicalflow.runtime import CONFIG_FILE, Sequencer, save_checkpoint
from canonicalflow.state import Core
from canonicalflow.strategy import OwnOrders, Strategy, StrategyDriver, View
from canonicalflow.venue import MarketBatches, QueueTracker, SimulatedVenue, Simulation, venue_times

__all__ = ["BacktestResult", "Session", "core_config_of", "market_of", "run"]

TABLES = ("orders", "fills", "positions", "equity", "queue")
_BATCH_ROWS = 65_536
BACKTEST_FILE = "backtest.json"  # the validated configuration, canonical, beside the outputs


@dataclass
class BacktestResult:
    """A finished run: its directory, its summary, and its tables as Arrow (`.to_pandas()`, `polars.from_arrow`)."""

    run_dir: Path
    summary: dict[str, Any]
    _tables: dict[str, pa.Table] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, run_dir: Path | str) -> BacktestResult:
        """A run written earlier."""
        run_dir = Path(run_dir)
        return cls(run_dir, read_summary(run_dir / "summary.json"))

    def table(self, name: str) -> pa.Table:
        if name not in self._tables:
            self._tables[name] = pq.read_table(self.run_dir / f"{name}.parquet")
        return self._tables[name]

    orders = property(lambda self: self.table("orders"))
    fills = property(lambda self: self.table("fills"))
    positions = property(lambda self: self.table("positions"))
    equity = property(lambda self: self.table("equity"))
    queue = property(lambda self: self.table("queue"))

    @property
    def report(self) -> Path:
        return self.run_dir / "report.html"

    @property
    def journal(self) -> Path:
        return self.run_dir / "journal"


def market_of(config: BacktestConfig) -> tuple[tuple[Instrument, ...], Iterator[Event], int]:
    """The instruments, the market stream and its length (for progress) that the config names."""
    data = config.data
    overrides = {i.id: i for i in config.instruments}
    if data.generator is not None:
        gen = data.generator
        instrument = overrides.get(gen.instrument) or Instrument(
            id=gen.instrument, symbol="ZI", tick_size="0.01", lot_size="1"
        )
        events: Iterator[Event] = zero_intelligence(gen.params, gen.seed, gen.events, gen.instrument)
        instruments, total = (instrument,), gen.events
    else:
        store = Store(data.store)
        found: dict[int, Instrument] = {}
        paths, total = [], 0
        for dataset in data.datasets:
            try:
                manifest = store.manifest(dataset)
            except (FileNotFoundError, DataError) as error:
                raise DataError(f"dataset {dataset!r} is not in the store {data.store}: {error}") from None
            found.setdefault(
                manifest.instrument_id,
                Instrument(
                    id=manifest.instrument_id,
                    symbol=manifest.instrument,
                    tick_size=manifest.tick_size,
                    lot_size=manifest.lot_size,
                ),
            )
            paths.append(store.data_file(dataset))
            total += manifest.rows
        instruments = tuple(_override(found[i], overrides.get(i)) for i in sorted(found))
        unknown = sorted(set(overrides) - set(found))
        if unknown:
            raise DataError(
                f"instruments: id {unknown[0]} is in none of the datasets {', '.join(data.datasets)}"
            )
        events = feed(paths)
    if data.feed_latency_ns is not None:
        events = _received_after(events, data.feed_latency_ns)
    if data.max_events:
        events = itertools.islice(events, data.max_events)
        total = min(total, data.max_events)
    return instruments, events, total


def market_batches_of(config: BacktestConfig) -> MarketBatches | None:
    """The market stream as Arrow batches, for the simulation to fold in bulk, when it can: datasets
    from a store on an L2 venue, with `run.columnar` on. None otherwise (the stream goes event by
    event)."""
    data = config.data
    if not config.run.columnar or data.store is None or config.venue.book != "l2":
        return None
    store = Store(data.store)
    paths = [store.data_file(dataset) for dataset in data.datasets]
    return MarketBatches(_batches(paths, data.feed_latency_ns, data.max_events))


def reorder_window(config: BacktestConfig) -> int:
    """How far the simulation must read ahead to keep the venue's events in venue-time order: the
    most any event of the stream reaches us after the venue acted on it (a pass over two columns
    of each dataset), else `data.max_feed_latency_ns`. Never more than that bound, so an event
    later than it still stops the run.

    Each dataset is read on its own: a row's delay does not depend on the merge, and each one's
    first `max_events` rows hold every row of the merged stream's first `max_events`. Rewritten
    receive times do depend on the merge, so several datasets with `feed_latency_ns` get the bound.
    """
    data = config.data
    bound = data.max_feed_latency_ns
    if data.store is None or (len(data.datasets) > 1 and data.feed_latency_ns is not None):
        return bound
    store = Store(data.store)
    return min(bound, max(_worst_delay(store.data_file(d), data) for d in data.datasets))


def _worst_delay(path: Path, data: DataConfig) -> int:
    """The most any of the file's first `data.max_events` rows is received after the venue acted."""
    clock, read, worst = -(1 << 63), 0, 0
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(
        batch_size=_BATCH_ROWS, columns=["ts_exchange", "ts_receive"]
    ):
        if data.max_events:
            if read >= data.max_events:
                break
            batch = batch.slice(0, data.max_events - read)
        read += batch.num_rows
        exchange, received = batch.column(0).to_numpy(), batch.column(1).to_numpy()
        if data.feed_latency_ns is not None:  # as `_batches` rewrites them
            received, clock = _received_from(exchange, data.feed_latency_ns, clock)
        if len(exchange):
            worst = max(worst, int(np.max(received - venue_times(exchange, received))))
    return worst


def _batches(paths: list[Path], latency_ns: int | None, max_events: int) -> Iterator[pa.RecordBatch]:
    """The datasets' rows in batches, as `market_of` streams them: merged by `feed_batches`
    (positions 1..n), receive times rewritten as `_received_after` does, cut after `max_events`."""
    clock, read = -(1 << 63), 0
    for batch in feed_batches(paths, batch_rows=_BATCH_ROWS):
        if max_events and read + batch.num_rows > max_events:
            batch = batch.slice(0, max_events - read)
        if latency_ns is not None:
            received, clock = _received_from(batch.column("ts_exchange").to_numpy(), latency_ns, clock)
            field = EVENT_SCHEMA.get_field_index("ts_receive")
            batch = batch.set_column(field, EVENT_SCHEMA.field(field), pa.array(received))
        read += batch.num_rows
        if batch.num_rows:
            yield batch
        if max_events and read >= max_events:
            return


def _received_from(exchange: np.ndarray, latency_ns: int, clock: int) -> tuple[np.ndarray, int]:
    """`_received_after` on a batch's exchange times, `clock` the last receive time before them:
    (the receive times, the clock after them)."""
    received = np.maximum.accumulate(np.maximum(exchange + latency_ns, clock))
    return received, int(received[-1]) if len(received) else clock


def _received_after(events: Iterator[Event], latency_ns: int) -> Iterator[Event]:
    """Receive times rewritten as exchange time + `latency_ns`, never going back: for a capture
    whose local clock was off (the shared Binance one is 1.27 s behind the exchange's)."""
    clock = -(1 << 63)
    for ev in events:
        clock = max(clock, ev.ts_exchange + latency_ns)
        yield ev._replace(ts_receive=clock)


def _override(dataset: Instrument, given: Instrument | None) -> Instrument:
    """The dataset's instrument, with the multiplier and currency a file may add; its sizes must agree."""
    if given is None:
        return dataset
    for size in ("tick_size", "lot_size"):
        if Decimal(getattr(given, size)) != Decimal(getattr(dataset, size)):
            raise DataError(
                f"instruments: id {given.id} has {size} {getattr(given, size)}, but its dataset's "
                f"prices and sizes are in units of {getattr(dataset, size)}"
            )
    return dataset.model_copy(
        update={"multiplier": given.multiplier, "currency_decimals": given.currency_decimals}
    )


def core_config_of(config: BacktestConfig, instruments: tuple[Instrument, ...]) -> CoreConfig:
    limits = ()
    if (per_second := config.risk.max_orders_per_second) is not None:
        limits = (RateLimit(scope=0, capacity=per_second, refill_ns=1_000_000_000 // per_second),)
    return CoreConfig(
        version=f"backtest-{config.fingerprint[:16]}",
        instruments=instruments,
        rate_limits=limits,
        timer_ns=config.strategy.cadence.timer_ms * 1_000_000,
        retained_final_orders=config.run.retained_final_orders,
        digest_block=config.run.digest_block,
    )


def build_strategy(config: BacktestConfig) -> Strategy:
    target = config.strategy.class_
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise DataError(f"strategy.class {target!r} cannot be imported: {error}") from None
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise DataError(f"strategy.class {target!r} is not a Strategy subclass")
    try:
        return cls(**config.strategy.params)
    except (TypeError, ValueError) as error:
        raise DataError(f"strategy.params for {target}: {error}") from None


class Session:
    """The pieces of one run, wired: Core, projections, strategy, risk, recorder and sequencer.

    `tap` hears every recorded event too (after the recorder), for a rerun that compares them.
    """

    def __init__(
        self,
        config: BacktestConfig,
        core_config: CoreConfig,
        send: Callable[[Event], None],
        journal: JournalWriter | None = None,
        digests: Callable[[int, bytes], None] | None = None,
        checkpoints: Path | None = None,
        tap: Callable[[Event], None] | None = None,
    ) -> None:
        self.config, self.core_config = config, core_config
        self.core = Core(core_config)
        self.tracker = QueueTracker(core_config, config.venue)
        self.orders = OwnOrders(self.core, self.tracker)
        increments = (config.risk.price_increment, config.risk.qty_increment)
        self.view = View(
            self.core, core_config, self.tracker, self.orders, config.strategy.params, increments
        )
        self.risk = RiskEngine(config.risk, self.view)
        self.driver = StrategyDriver(build_strategy(config), self.view, self.orders, config.strategy.cadence)
        self.recorder = Recorder(
            self.core,
            self.tracker,
            self.orders,
            self.view,
            self.risk,
            config.run.sample_ms * 1_000_000,
            journal,
            digests,
        )
        record = self.recorder.record
        if tap is not None:
            keep = record
            record = lambda ev: (keep(ev), tap(ev))  # noqa: E731
        self.sequencer = Sequencer(
            self.core,
            record,
            self.risk,
            self.driver,
            send=send,
            checkpoint_every=config.run.checkpoint_every if checkpoints else 0,
            on_checkpoint=(lambda core: save_checkpoint(checkpoints, core))
            if checkpoints
            else lambda core: None,
        )

        self.lane = MarketLane(
            self.core,
            self.sequencer,
            self.recorder,
            self.tracker,
            self.orders,
            self.driver,
            self.view,
            checkpoint_every=config.run.checkpoint_every if checkpoints else 0,
        )

    def open_session(self, ts: int) -> None:
        """Trading is enabled (unless risk says otherwise) and the session starts, at the first event's time."""
        kinds = [EventKind.TRADING_ENABLED] if self.config.risk.trading_enabled else []
        for kind in [*kinds, EventKind.SESSION_START]:
            self.sequencer.feed(Event(kind=int(kind), ts_exchange=ts, ts_receive=ts))


def run(
    config: BacktestConfig | Path | str | dict[str, Any],
    run_dir: Path | str | None = None,
    *,
    force: bool = False,
    progress: bool | None = None,
    digests: Callable[[int, bytes], None] | None = None,
    report: bool = True,
) -> BacktestResult:
    """Run the backtest `config` names (a BacktestConfig, a TOML path or a dict) into `run_dir`.

    `run_dir` defaults to runs/NAME; an existing non-empty directory is refused unless `force`.
    `progress` shows a bar (default: when stderr is a terminal).
    """
    config = load_config(config)
    run_dir = Path(run_dir or Path("runs") / config.name)
    instruments, market, total = market_of(config)  # every check that can fail before anything is replaced
    core_config = core_config_of(config, instruments)
    build_strategy(config)
    _prepare(run_dir, force)
    journal_dir = run_dir / "journal"
    journal_dir.mkdir(parents=True)
    (journal_dir / CONFIG_FILE).write_text(core_config.model_dump_json(indent=2) + "\n")
    (run_dir / BACKTEST_FILE).write_text(config.model_dump_json(indent=2, by_alias=True) + "\n")
    venue = SimulatedVenue(core_config, config.venue)
    started = time.perf_counter()
    batches = market_batches_of(config)
    with JournalWriter(journal_dir) as journal:
        session = Session(config, core_config, venue.send, journal, digests, journal_dir)
        if batches is not None:
            first_batch = batches.rest()
            first_ts = None if first_batch is None else first_batch.column("ts_receive")[0].as_py()
            stream: Iterator[Event] | MarketBatches = batches
        else:
            market = iter(market)
            first = next(market, None)
            first_ts = None if first is None else first.ts_receive
            stream = market if first is None else itertools.chain((first,), market)
        if first_ts is None:
            raise DataError(f"{config.name}: the market stream is empty")
        session.open_session(first_ts)
        show = sys.stderr.isatty() if progress is None else progress
        try:
            with tqdm(total=total, unit="ev", unit_scale=True, disable=not show, desc=config.name) as bar:
                window = reorder_window(config) if batches is not None else config.data.max_feed_latency_ns
                simulation = Simulation(stream, session.sequencer, venue, window, session.lane)
                simulation.run(lambda done: bar.update(done - bar.n))
                bar.update(total - bar.n)
        finally:
            session.recorder.finish()  # a run that failed keeps the journal up to the failure, to replay
    elapsed = time.perf_counter() - started
    return _write_outputs(run_dir, config, session, elapsed, report)


def _prepare(run_dir: Path, force: bool) -> None:
    """An empty run directory; `force` replaces an earlier run, never a directory that is not one."""
    if run_dir.exists() and any(run_dir.iterdir()):
        if not (run_dir / BACKTEST_FILE).exists():
            raise DataError(f"{run_dir} is not empty and holds no earlier run; choose another run directory")
        if not force:
            raise DataError(
                f"{run_dir} holds an earlier run; choose another run directory, or --force to replace it"
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)


def _write_outputs(
    run_dir: Path, config: BacktestConfig, session: Session, elapsed: float, report: bool
) -> BacktestResult:
    recorder, core = session.recorder, session.core
    tables = {
        "orders": _orders_table(session),
        "fills": recorder.table(recorder.fills, FILLS),
        "positions": _positions_table(session),
        "equity": recorder.table(recorder.equity, EQUITY),
        "queue": recorder.table(recorder.queue, QUEUE),
    }
    for name, table in tables.items():
        pq.write_table(table, run_dir / f"{name}.parquet")
    meta = {
        "name": config.name,
        "fingerprint": config.fingerprint,
        "market_events": recorder.market_events,
        "folded_events": recorder.folded,
        "recorded_events": recorder.recorded,
        "elapsed_s": elapsed,
        "final_position": core.position,
        "final_digest": core.current_digest().hex(),
        "sample_ns": config.run.sample_ms * 1_000_000,
    }
    summary = summarize(tables, meta)
    summary["decisions"] = session.driver.decisions
    summary["risk_denials"] = {r.name: n for r, n in sorted(session.risk.decided.items()) if r}
    write_summary(run_dir / "summary.json", summary)
    if report:
        render_report(run_dir)
    return BacktestResult(run_dir, summary, tables)


def _orders_table(session: Session) -> pa.Table:
    money = session.view.money
    rows = [
        (
            r.client_order_id,
            r.instrument,
            session.view.instrument(r.instrument).symbol,
            r.side,
            r.order_type,
            r.tif,
            r.price,
            float(money.price(r.instrument, r.price)),
            r.qty,
            r.filled,
            r.status,
            r.submitted_ts,
            r.acked_ts,
            r.final_ts,
            r.replaces,
            r.reject_reason,
            r.queue_ahead_at_ack,
        )
        for r in session.orders.records
    ]
    return session.recorder.table(rows, ORDERS)


def _positions_table(session: Session) -> pa.Table:
    view, money = session.view, session.view.money
    rows = []
    for i in view.instruments:
        p, mark = view.portfolio(i), view.mark(i)
        realized, unrealized, fees = money.pnl(i, p, mark)  # unrealized None: held and unmarked
        rows.append(
            (
                i,
                view.instrument(i).symbol,
                p.qty,
                float(money.qty(i, p.qty)),
                float(money.price(i, Fraction(p.cost, p.qty))) if p.qty else math.nan,
                math.nan if mark is None else float(money.price(i, mark)),
                float(realized),
                math.nan if unrealized is None else float(unrealized),
                float(fees),
                math.nan if unrealized is None else float(realized + unrealized - fees),
                p.volume,
                float(money.tick_lots(i, p.traded)),
                p.fills,
            )
        )
    return session.recorder.table(rows, POSITIONS)
