"""`canonicalflow backtest`, `canonicalflow report` and `canonicalflow demo`."""

from __future__ import annotations

from pathlib import Path

import click

from canonicalflow.backtest import DEMO_CONFIG, BacktestResult, render_report, run
from canonicalflow.cli._errors import fail
from canonicalflow.cli._options import config_argument, force_option, out_option
from canonicalflow.errors import CanonicalFlowError

__all__ = ["backtest", "demo", "print_summary", "report"]


def print_summary(result: BacktestResult) -> None:
    s = result.summary

    def number(value: object, spec: str) -> str:
        return "n/a" if value is None else format(value, spec)

    click.echo(f"run            {result.run_dir}")
    click.echo(f"fingerprint    {s['fingerprint']}")
    click.echo(
        f"events         {s['market_events']:,} market ({s['folded_events']:,} folded in batches), "
        f"{s['recorded_events']:,} recorded"
    )
    click.echo(f"speed          {number(s['events_per_s'], ',.0f')} market events/s")
    click.echo(
        f"orders, fills  {s['orders']:,} orders, {s['fills']:,} fills, fill ratio {number(s['fill_ratio'], '.1%')}"
    )
    click.echo(
        f"pnl            {number(s['pnl'], ',.2f')} "
        f"(realized {number(s['realized'], ',.2f')}, fees {number(s['fees'], ',.2f')})"
    )
    click.echo(f"max drawdown   {number(s['max_drawdown'], ',.2f')}   sharpe {number(s['sharpe'], '.2f')}")
    click.echo(f"final digest   {s['final_digest']} at position {s['final_position']:,}")
    click.echo(f"report         {result.report}")


@click.command()
@config_argument
@out_option
@force_option
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
def backtest(config: Path, out: Path | None, force: bool, progress: bool | None) -> None:
    """Run the backtest CONFIG (a TOML file) and write its run directory.

    The run directory holds the journal (replay it with `canonicalflow replay RUN/journal`),
    orders, fills, holdings, equity and queue as Parquet, summary.json and report.html.
    See docs/stacks/backtesting.md for the file's sections.
    """
    try:
        result = run(config, out, force=force, progress=progress)
    except CanonicalFlowError as error:
        fail(error)
    print_summary(result)


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report(run_dir: Path) -> None:
    """Render RUN_DIR/report.html again from the run's tables and summary."""
    try:
        path = render_report(run_dir)
    except (CanonicalFlowError, FileNotFoundError) as error:
        fail(error)
    click.echo(f"report written: {path}")


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/demo"),
    show_default=True,
    help="The run directory; a previous demo there is replaced.",
)
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
def demo(out: Path, progress: bool | None) -> None:
    """A market-making backtest on the seeded order flow shipped with the package, with its report.

    The configuration it runs is canonicalflow/backtest/demo.toml: copy it to start your own.
    """
    if out.exists() and any(out.iterdir()) and not (out / "backtest.json").exists():
        fail(FileExistsError(f"{out} holds something other than a run; choose another --out"))
    try:
        result = run(DEMO_CONFIG, out, force=True, progress=progress)
    except CanonicalFlowError as error:
        fail(error)
    print_summary(result)
