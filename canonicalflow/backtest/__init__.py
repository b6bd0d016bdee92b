"""Backtests: one TOML file in, a run directory out (journal, tables, summary, report).

From Python:

    from canonicalflow.backtest import run
    result = run("my.toml")                  # or a dict, or a BacktestConfig
    result.fills.to_pandas()                 # Arrow tables: orders, fills, holdings, equity, queue
"""

from canonicalflow.backtest._config import BacktestConfig, load_config
from canonicalflow.backtest._demo import DEMO_CONFIG, demo_config
from canonicalflow.backtest._loop import simulate
from canonicalflow.backtest._outputs import TABLES, BacktestResult
from canonicalflow.backtest._report import render_report
from canonicalflow.backtest._rerun import rerun_decisions
from canonicalflow.backtest._runner import BACKTEST_FILE, run

__all__ = [
    "BACKTEST_FILE",
    "DEMO_CONFIG",
    "TABLES",
    "BacktestConfig",
    "BacktestResult",
    "demo_config",
    "load_config",
    "render_report",
    "rerun_decisions",
    "run",
    "simulate",
]
