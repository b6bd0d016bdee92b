"""`canonicalflow replay`, `canonicalflow verify-determinism` and `canonicalflow journal synth`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import click

from canonicalflow.backtest import BACKTEST_FILE, rerun_decisions
from canonicalflow.backtest import load_config as load_backtest
from canonicalflow.cli._errors import fail
from canonicalflow.errors import CanonicalFlowError
from canonicalflow.events import to_record_batch
from canonicalflow.journal import JournalWriter
from canonicalflow.runtime import (
    CONFIG_FILE,
    compare_backtests,
    compare_processes,
    describe,
    latest_checkpoint,
    load_config,
    replay_journal,
    save_checkpoint,
)
from canonicalflow.state import Core
from canonicalflow.testing import synthetic_config, synthetic_stream

__all__ = ["replay", "synth", "verify_determinism"]

_CONFIG_HELP = f"The Configuration as JSON. Default: {CONFIG_FILE} in the journal directory."


@click.command()
@click.argument("journal", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--to", "to_position", type=int, default=None, help="Stop after this position (default: the end)."
)
@click.option(
    "--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help=_CONFIG_HELP
)
@click.option(
    "--checkpoints/--no-checkpoints",
    default=True,
    show_default=True,
    help="Start from the last checkpoint at or before the target position, when there is one.",
)
def replay(journal: Path, to_position: int | None, config: Path | None, checkpoints: bool) -> None:
    """Replay JOURNAL through a Core and print the State and its digest at the end (or --to).

    The digest chains every change since the first event, so two replays that print the same
    digest agree at every position before it. A checkpoint only saves time: starting from one
    prints the same digest as --no-checkpoints.

    JOURNAL may be a backtest's run directory: its journal is replayed, then its inputs are run
    again through the strategy, risk and execution control, and every decision must come out
    the same, at the same position.
    """
    run_dir = journal if (journal / BACKTEST_FILE).exists() else None
    if run_dir is not None:
        journal = run_dir / "journal"
    try:
        configuration = load_config(journal, config)
        start = latest_checkpoint(journal, configuration, to_position) if checkpoints else None
        if start is not None:
            click.echo(f"from checkpoint at position {start.position}", err=True)
        last, rejections = start, 0
        for core, result in replay_journal(journal, configuration, to_position, start=start):
            last = core
            rejections += len(result.rejections)
    except CanonicalFlowError as error:
        fail(error)
    if last is None:
        fail(ValueError(f"{journal}: no events up to position {to_position}"))
    for line in describe(last):
        click.echo(line)
    click.echo(f"rejections    {rejections} refused transitions recorded since the start point")
    if run_dir is not None and to_position is None:
        try:
            compared, difference = rerun_decisions(run_dir)
        except CanonicalFlowError as error:
            fail(error)
        if difference is not None:
            made, recorded = difference
            click.echo(
                f"decisions     DIFFER after {compared:,} equal events: made {made}, recorded {recorded}"
            )
            sys.exit(1)
        click.echo(f"decisions     all {compared:,} recorded events made again from the inputs alone")


@click.command("verify-determinism")
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help=_CONFIG_HELP
)
def verify_determinism(target: Path, config: Path | None) -> None:
    """Run TARGET in two processes with different PYTHONHASHSEED values; compare every digest.

    TARGET is a journal directory or a run directory, a backtest's or a live session's (its
    journal is replayed), or a backtest's TOML file (the whole backtest runs twice: market data,
    strategy, risk, venue). Prints the number of positions compared, or the
    first position where the digests differ and the State each process reached there.
    """
    if (target / BACKTEST_FILE).exists():
        target = target / "journal"  # a run directory, a backtest's or a live session's: its journal
    with tempfile.TemporaryDirectory() as workdir:
        try:
            if target.is_dir():
                load_config(target, config)  # fail here, in one line, rather than in both workers
                compared, divergence = compare_processes(target, config, Path(workdir))
            else:
                load_backtest(target)
                compared, divergence = compare_backtests(target, Path(workdir))
        except CanonicalFlowError as error:
            fail(error)
        except subprocess.CalledProcessError as error:  # a worker failed: its last line says why
            fail(RuntimeError((error.stderr or "").strip().splitlines()[-1:] or error))
    if divergence is None:
        click.echo(f"verify-determinism: identical digests at all {compared:,} positions in both processes")
        return
    click.echo(
        f"verify-determinism: DIVERGED at position {divergence.position} after {compared:,} equal positions"
    )
    for number, state in enumerate(divergence.states, 1):
        click.echo(f"process {number} reached:")
        for line in state:
            click.echo(f"  {line}")
    sys.exit(1)


@click.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--events", default=10_000, show_default=True, help="How many events to write.")
@click.option(
    "--seed", default=1, show_default=True, help="The stream's seed: the same seed, the same journal."
)
@click.option(
    "--checkpoint-every",
    default=0,
    show_default=True,
    help="Also save a checkpoint of the State every N positions (0: none).",
)
def synth(path: Path, events: int, seed: int, checkpoint_every: int) -> None:
    """Write a journal of seeded synthetic events (and its config.json) to PATH, to try the tools on."""
    if path.exists() and any(path.iterdir()):
        fail(FileExistsError(f"{path} is not empty; choose a new directory"))
    path.mkdir(parents=True, exist_ok=True)
    config = synthetic_config()
    (path / CONFIG_FILE).write_text(config.model_dump_json(indent=2) + "\n")
    core = Core(config)
    batch: list = []
    with JournalWriter(path) as writer:
        for ev in synthetic_stream(seed, events):
            if checkpoint_every:
                core.apply(ev)
                if ev.position % checkpoint_every == 0:
                    save_checkpoint(path, core)
            batch.append(ev)
            if len(batch) == 10_000:
                writer.append(to_record_batch(batch))
                batch = []
        if batch:
            writer.append(to_record_batch(batch))
    click.echo(
        f"journal synth: {events:,} events (seed {seed}) in {path}, configuration {config.fingerprint[:16]}"
    )
