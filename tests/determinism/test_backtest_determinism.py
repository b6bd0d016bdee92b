"""A whole backtest (order flow, strategy, risk, venue) in two processes: the same digest at every position."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from canonicalflow.cli import main
from canonicalflow.runtime import compare_backtests

CONFIG = """
name = "determinism"
[data.generator]
seed = {seed}
events = 8000
[[instruments]]
id = 1
symbol = "ZI"
tick_size = "0.01"
lot_size = "1"
[venue]
book = "l3"
seed = 5
[venue.latency]
model = "stochastic"
[risk]
max_inventory = 5
max_orders_per_second = 20
[strategy]
class = "canonicalflow.strategies:InventorySkewMaker"
params = {{ size = 1, max_inventory = 3 }}
cadence = {{ timer_ms = 100 }}
"""


def _config(tmp_path: Path, seed: int) -> Path:
    path = tmp_path / f"backtest-{seed}.toml"
    path.write_text(CONFIG.format(seed=seed))
    return path


def test_two_processes_agree_at_every_position(tmp_path: Path) -> None:
    compared, divergence = compare_backtests(_config(tmp_path, 1), tmp_path)
    assert divergence is None and compared > 8000


def test_the_command_says_so_and_another_stream_differs(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["verify-determinism", str(_config(tmp_path, 1))])
    assert result.exit_code == 0, result.output
    assert "identical digests at all" in result.output
    ours = tmp_path / "a"
    ours.mkdir()
    other = tmp_path / "b"
    other.mkdir()
    compare_backtests(_config(tmp_path, 1), ours)
    compare_backtests(_config(tmp_path, 2), other)
    assert (ours / "digests-0.bin").read_bytes() != (other / "digests-0.bin").read_bytes()
