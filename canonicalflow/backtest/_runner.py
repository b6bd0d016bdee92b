"""Run a backtest: the market stream through the Core, the strategy, risk and the simulated venue.

`run(config)` writes a run directory (the journal, the five tables as Parquet, summary.json,
report.html) and returns a `BacktestResult` whose tables are Arrow tables. The wall clock is read
here, outside the engine, only to report events per second.
"""

from __future__ import annotations

import itertools
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from canonicalflow.backtest._config import BacktestConfig, load_config
from canonicalflow.backtest._loop import MarketBatches, Simulation
from canonicalflow.backtest._outputs import BacktestResult, write_outputs
from canonicalflow.backtest._session import Session, build_strategy, core_config_of
from canonicalflow.backtest._streams import market_batches_of, market_of, reorder_window
from canonicalflow.errors import DataError
from canonicalflow.events import Event
from canonicalflow.journal import JournalWriter
from canonicalflow.runtime import CONFIG_FILE
from canonicalflow.venue import SimulatedVenue

__all__ = ["BACKTEST_FILE", "prepare_run_dir", "run"]

BACKTEST_FILE = "backtest.json"  # the validated configuration, canonical, beside the outputs


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
    prepare_run_dir(run_dir, force)
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
                if batches is not None or config.venue.market_clock == "receive":
                    window = reorder_window(config)
                else:
                    window = config.data.max_feed_latency_ns  # one at a time: no pass over the data first
                simulation = Simulation(stream, session.sequencer, venue, window, session.lane)
                simulation.run(lambda done: bar.update(done - bar.n))
                bar.update(total - bar.n)
        finally:
            session.recorder.finish()  # a run that failed keeps the journal up to the failure, to replay
    elapsed = time.perf_counter() - started
    return write_outputs(run_dir, config, session, elapsed, report)


def prepare_run_dir(run_dir: Path, force: bool) -> None:
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
