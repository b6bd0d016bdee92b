"""Backtests: one TOML file in, a run directory out (journal, tables, summary, report).

From Python:

    from canonicalflow.backtest import run
    result = run("my.toml")                  # or a dict, or a BacktestConfig
    result.fills.to_pandas()                 # Arrow tables: orders, fills, positions, equity, queue
"""

from canonicalflow.backtest._config import BacktestConfig, load_config
from canonicalflow.backtest._demo import DEMO_CONFIG, demo_config
from canonicalflow.backtest._report import render_report
from canonicalflow.backtest._runner import TABLES, BacktestResult, run

__all__ = [
    "DEMO_CONFIG",
    "TABLES",
    "BacktestConfig",
    "BacktestResult",
    "demo_config",
    "load_config",
    "render_report",
    "run",
]
