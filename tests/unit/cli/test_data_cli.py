"""`canonicalflow data`: ingest, validate, ls and show from the command line, with clear exits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CLI = shutil.which("canonicalflow") or "canonicalflow"
AAPL = "lobster/aapl_10level_prefix/AAPL_2012-06-21_34200000_57600000_{}_10.csv"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "data", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def aapl(shared_data: Path) -> list[str]:
    return [str(shared_data / AAPL.format(kind)) for kind in ("message", "orderbook")]


def test_ingest_then_ls_and_show(tmp_path: Path, aapl: list[str]) -> None:
    store = str(tmp_path / "store")
    ingest = [
        "ingest",
        "lobster",
        *aapl,
        "--venue",
        "nasdaq",
        "--instrument",
        "AAPL",
        "--tick-size",
        "0.0001",
    ]
    result = _run(*ingest, "--store", store)
    assert result.returncode == 0, result.stderr
    assert "lifecycle      Promoted" in result.stdout and "version 1" in result.stdout
    listing = _run("ls", "--store", store)
    assert "nasdaq/AAPL/2012-06-21" in listing.stdout and "passed" in listing.stdout
    shown = _run("show", "nasdaq/AAPL/2012-06-21", "--store", store)
    assert '"normalizer_version"' in shown.stdout and "part-0.parquet" in shown.stdout
    assert _run(*ingest, "--store", store).returncode == 0  # the same files again: reused, no new version
    assert "  1 " in _run("ls", "--store", store, "--all-versions").stdout


def test_validate_reports_without_storing(tmp_path: Path, aapl: list[str]) -> None:
    result = _run(
        "validate",
        "lobster",
        *aapl,
        "--venue",
        "nasdaq",
        "--instrument",
        "AAPL",
        "--start",
        "2012-06-21T13:30:00",
        "--end",
        "2012-06-21T20:00:00",
    )
    assert result.returncode == 2  # a 50-second prefix does not cover the trading day
    assert "verdict        uncovered" in result.stdout and "lifecycle      Incomplete" in result.stdout


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("1,2\n")
    result = _run(
        "ingest", "lobster", str(bad), "--venue", "v", "--instrument", "X", "--store", str(tmp_path / "s")
    )
    assert result.returncode == 1 and result.stderr.startswith("error: lobster: give one message file")
    assert _run("show", "a/b/c", "--store", str(tmp_path)).stderr.startswith("error: no dataset")


def test_help_explains_each_command() -> None:
    for command in ("ingest", "validate", "ls", "show"):
        result = _run(command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout
    assert "hive_partitioning" in _run("--help").stdout
    assert "databento-mbo" in _run("ingest", "--help").stdout  # every format, with its files


def test_lobster_prices_have_one_unit_whatever_the_tick_given(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from canonicalflow.cli import main

    message = tmp_path / "AMZN_2012-06-21_34200000_57600000_message_1.csv"
    book = tmp_path / "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"
    message.write_text("")
    book.write_text("")
    result = CliRunner().invoke(
        main,
        ["data", "ingest", "lobster", str(message), str(book), "--venue", "nasdaq", "--instrument", "AMZN",
         "--tick-size", "0.01", "--store", str(tmp_path / "store")],
    )  # fmt: skip
    assert result.exit_code != 0 and "must be 0.0001" in result.output
