"""Backtests: one TOML file in, a run directory out (journal, tables, summary, report).

From Python:

    from canonicalflow.backtest import run
    result = run("my.toml")                  # or a dict, or a BacktestConfig
    result.fills.to_pandas()                 # Arrow tables: orders, fills, holdings, equity, queue
"""

from canonicalflow.backtest._config import (
    BacktestConfig,
    SessionConfig,
    load_config,
    read_config_file,
    validated,
)
from canonicalflow.backtest._demo import DEMO_CONFIG, demo_config
from canonicalflow.backtest._loop import Simulation, simulate
from canonicalflow.backtest._outputs import TABLES, BacktestResult, write_outputs
from canonicalflow.backtest._report import render_report
from canonicalflow.backtest._rerun import rerun_decisions
from canonicalflow.backtest._runner import BACKTEST_FILE, prepare_run_dir, run
from canonicalflow.backtest._session import Session, build_strategy, core_config_of
from canonicalflow.backtest._streams import journal_inputs

__all__ = [
    "BACKTEST_FILE",
    "DEMO_CONFIG",
    "TABLES",
    "BacktestConfig",
    "BacktestResult",
    "Session",
    "SessionConfig",
    "Simulation",
    "build_strategy",
    "core_config_of",
    "demo_config",
    "journal_inputs",
    "load_config",
    "prepare_run_dir",
    "read_config_file",
    "render_report",
    "rerun_decisions",
    "run",
    "simulate",
    "validated",
    "write_outputs",
]
