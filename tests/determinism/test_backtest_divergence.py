"""A backtest whose strategy depends on the hash seed: verify-determinism names the very position
where the two processes part, though the runs link their digests 4096 positions at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from canonicalflow.cli import main
from canonicalflow.journal import JournalReader
from canonicalflow.runtime import compare_backtests, first_divergence

ACT_AT = 5000  # the book event the strategy may act on: inside a digest block, not at its end

STRATEGY = f'''
from canonicalflow.strategy import BUY, New, Strategy


class HashSeeded(Strategy):
    """Bids a lot on its {ACT_AT}th book event if str hashes make "a" odd: PYTHONHASHSEED decides."""

    def __init__(self, **params):
        super().__init__(**params)
        self.seen = 0

    def on_book(self, view, ev):
        self.seen += 1
        best = view.book().best_bid()
        if self.seen == {ACT_AT} and hash("a") % 2 and best is not None:
            return [New(BUY, best, 1)]
        return None
'''

CONFIG = """
name = "divergence"
[data.generator]
seed = 3
events = 8000
[[instruments]]
id = 1
symbol = "ZI"
tick_size = "0.01"
lot_size = "1"
[venue]
book = "l3"
[risk]
max_inventory = 5
[strategy]
class = "seeded_strategy:HashSeeded"
cadence = { on = ["book"] }
"""


def _parity(seed: str) -> int:
    command = [sys.executable, "-c", "print(hash('a') % 2)"]
    return int(subprocess.run(command, env={"PYTHONHASHSEED": seed}, capture_output=True, text=True).stdout)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert (_parity("0"), _parity("4242")) == (1, 0), "the two seeds must disagree about hash('a')"
    (tmp_path / "seeded_strategy.py").write_text(STRATEGY)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    path = tmp_path / "divergence.toml"
    path.write_text(CONFIG)
    return path


def _first_different_event(a: Path, b: Path) -> tuple[int, int]:
    """(events equal before it, the first position where the two journals' events differ)."""
    left, right = JournalReader(a).events(), JournalReader(b).events()
    for equal, (x, y) in enumerate(zip(left, right, strict=False)):
        if x != y:
            return equal, x.position
    raise AssertionError("the journals agree")


def test_the_first_differing_position_is_found_inside_a_block(config: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    compared, divergence = compare_backtests(config, workdir)
    assert divergence is not None
    equal, expected = _first_different_event(workdir / "run-0" / "journal", workdir / "run-4242" / "journal")
    assert (compared, divergence.position) == (equal, expected)
    _, reported = first_divergence(workdir / "digests-0.bin", workdir / "digests-4242.bin")
    assert reported is not None and reported > divergence.position  # the runs' own digests are per block
    held = [state for state in divergence.states]
    assert held[0] != held[1] and all(f"position      {expected}" in state for state in held)


def test_the_command_prints_it(config: Path) -> None:
    result = CliRunner().invoke(main, ["verify-determinism", str(config)])
    assert result.exit_code == 1, result.output
    assert "DIVERGED at position" in result.output
