"""The demo: a market maker on the seeded order flow shipped with the package, no data to fetch."""

from __future__ import annotations

from pathlib import Path

from canonicalflow.backtest._config import BacktestConfig, load_config

__all__ = ["DEMO_CONFIG", "demo_config"]

DEMO_CONFIG = Path(__file__).with_name("demo.toml")


def demo_config() -> BacktestConfig:
    return load_config(DEMO_CONFIG)
