"""The market stream a backtest configuration names: events one at a time, or Arrow batches for
the columnar lane, with their receive times as configured, and how far the venue must read ahead."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from canonicalflow.backtest._config import BacktestConfig, DataConfig
from canonicalflow.backtest._loop import MarketBatches
from canonicalflow.config import Instrument
from canonicalflow.data import Store, feed, feed_batches
from canonicalflow.errors import DataError
from canonicalflow.events import EVENT_SCHEMA, Category, Event, EventKind, category_of
from canonicalflow.journal import JournalReader
from canonicalflow.orderflow import zero_intelligence
from canonicalflow.runtime import SEQUENCER_KINDS
from canonicalflow.runtime import load_config as load_core_config
from canonicalflow.venue import venue_times

__all__ = ["journal_inputs", "market_batches_of", "market_of", "reorder_window"]

_BATCH_ROWS = 65_536
_SESSION_START = int(EventKind.SESSION_START)


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
        instruments: tuple[Instrument, ...] = (instrument,)
        total = gen.events
    elif data.journal is not None:
        if (data.journal / "journal").is_dir() and not (data.journal / "config.json").exists():
            raise DataError(
                f"data.journal: {data.journal} is a run directory; name its journal, {data.journal}/journal"
            )
        recorded = {i.id: i for i in load_core_config(data.journal).instruments}
        instruments = tuple(_override(recorded[i], overrides.get(i)) for i in sorted(recorded))
        _no_unknown(overrides, recorded, f"the journal {data.journal}")
        events = journal_inputs(data.journal)
        total = JournalReader(data.journal).num_events  # at most: the journal holds decisions too
    else:
        assert data.store is not None  # DataConfig: a generator, a journal or a store
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
        _no_unknown(overrides, found, f"none of the datasets {', '.join(data.datasets)}")
        events = feed(paths)
    if data.feed_latency_ns is not None:
        events = _received_after(events, data.feed_latency_ns)
    if data.max_events:
        events = itertools.islice(events, data.max_events)
        total = min(total, data.max_events)
    return instruments, events, total


def journal_inputs(journal: Path) -> Iterator[Event]:
    """What came into a run from outside, in its order: market data, feed gaps, operator controls
    and the session's stop. Left out is what a run makes itself: the session's opening, the
    sequencer's decisions, the venue's reports (a backtest over it makes them again)."""
    events = JournalReader(journal).events()
    for ev in events:
        if ev.kind == _SESSION_START:
            break  # the opening: a backtest opens its own session at the first input
    for ev in events:
        if ev.kind not in SEQUENCER_KINDS and category_of(EventKind(ev.kind)) != Category.EXECUTION:
            yield ev._replace(position=0)


def _no_unknown(overrides: dict[int, Instrument], found: dict[int, Instrument], where: str) -> None:
    unknown = sorted(set(overrides) - set(found))
    if unknown:
        raise DataError(f"instruments: id {unknown[0]} is in {where}")


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
    if config.venue.market_clock == "receive":
        return 0  # the venue acts on market data when we receive it: nothing comes late
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
