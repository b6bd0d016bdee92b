"""`canonicalflow backtest`, `report`, `replay RUN_DIR` and `demo`, as a user types them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from canonicalflow.cli import main

CONFIG = """
name = "cli"
[data.generator]
seed = 4
events = 6000
[[instruments]]
id = 1
symbol = "ZI"
tick_size = "0.01"
lot_size = "1"
[venue]
book = "l3"
[strategy]
class = "canonicalflow.strategies:QueueAwareJoiner"
params = { max_ahead = 10 }
"""


def test_backtest_then_report_then_replay(tmp_path: Path) -> None:
    config = tmp_path / "cli.toml"
    config.write_text(CONFIG)
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(main, ["backtest", str(config), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "fingerprint" in result.output and (out / "report.html").exists()
    (out / "report.html").unlink()
    result = runner.invoke(main, ["report", str(out)])
    assert result.exit_code == 0 and (out / "report.html").exists()
    result = runner.invoke(main, ["replay", str(out)])
    assert result.exit_code == 0, result.output
    assert "made again from the inputs alone" in result.output and "holding 1 " in result.output


def test_a_second_run_into_the_same_directory_is_refused_unless_forced(tmp_path: Path) -> None:
    config = tmp_path / "cli.toml"
    config.write_text(CONFIG)
    out = tmp_path / "run"
    runner = CliRunner()
    assert runner.invoke(main, ["backtest", str(config), "--out", str(out), "--no-progress"]).exit_code == 0
    again = runner.invoke(main, ["backtest", str(config), "--out", str(out), "--no-progress"])
    assert again.exit_code == 1 and "--force" in again.output
    forced = runner.invoke(main, ["backtest", str(config), "--out", str(out), "--no-progress", "--force"])
    assert forced.exit_code == 0


def test_a_bad_file_is_named_with_its_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(CONFIG.replace("[venue]", "[venue]\nqueue_modle = 'power'"))
    result = CliRunner().invoke(main, ["backtest", str(config), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "venue.queue_modle" in result.output
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_demo_will_not_replace_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 1 and keep.read_text() == "mine"
