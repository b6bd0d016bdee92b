"""`canonicalflow live` (a live session on the paper venue) and `canonicalflow parity` (its proof)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

import click

from canonicalflow.backtest import BacktestResult
from canonicalflow.cli._backtest import print_summary
from canonicalflow.cli._errors import fail
from canonicalflow.cli._options import config_argument, force_option, out_option
from canonicalflow.errors import CanonicalFlowError
from canonicalflow.events import StopReason
from canonicalflow.live import (
    ACTIONS,
    PARITY_DIR,
    LiveNode,
    check_parity,
    control_request,
    load_live_config,
    run_endpoint,
)

__all__ = ["ctl", "live", "parity"]


@click.command()
@config_argument
@out_option
@force_option
@click.option(
    "--resume",
    is_flag=True,
    help="Go on with the session the run directory holds (after a crash): its journal is run again "
    "through the engine, checked, and continued.",
)
@click.option(
    "--duration",
    type=float,
    default=None,
    help="Stop after this many seconds (default: on Ctrl-C or SIGTERM).",
)
def live(config: Path, out: Path | None, force: bool, resume: bool, duration: float | None) -> None:
    """Run the live session CONFIG describes: a backtest's TOML file with a [live] section.

    The strategy, risk and venue models of a backtest, on a live feed (Binance USD-M, COIN-M or
    spot; the local exchange in tests) and the wall clock, trading on the paper venue. Writes a run
    directory like a backtest's: the journal (committed as it goes), the captures it received,
    orders, fills, holdings, equity and queue as Parquet, summary.json and report.html; and
    backtest.json, the backtest `canonicalflow parity` runs to prove the session. Stops cleanly
    on Ctrl-C, SIGTERM or --duration.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_live_config(config)
        run_dir = out or Path("runs") / settings.name
        node = LiveNode(settings, run_dir, force=force, resume=resume)
    except CanonicalFlowError as error:
        fail(error)
    click.echo(
        f"live session {settings.name} in {run_dir}: {', '.join(i.symbol for i in settings.instruments)}"
    )
    try:
        reason = asyncio.run(_run(node, duration))
    except CanonicalFlowError as error:  # a port taken meanwhile: the journal keeps what was done
        fail(error)
    print_summary(BacktestResult.open(run_dir))
    click.echo(f"stopped        {reason.name.lower().replace('_', ' ')}")
    if reason == StopReason.INPUT_OVERFLOW:
        sys.exit(1)


async def _run(node: LiveNode, duration: float | None) -> StopReason:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return await node.run(stop, duration)


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--progress/--no-progress", default=None, help="A progress bar (default: on a terminal).")
def parity(run_dir: Path, progress: bool | None) -> None:
    """Prove a live session: a backtest over the inputs RUN_DIR's journal recorded must record it again.

    The same strategy, configuration and venue models get the market data, feed gaps and operator
    controls the live session received, in its order; every decision, order and fill must come
    out the same, at the same position. Prints "identical", or the first difference and what
    differs. The backtest's own run directory is RUN_DIR/parity.
    """
    try:
        result = check_parity(run_dir, progress=sys.stderr.isatty() if progress is None else progress)
    except CanonicalFlowError as error:
        fail(error)
    if result.identical:
        click.echo(
            f"parity: identical: the backtest over the session's inputs recorded all {result.compared:,} "
            f"events of its journal again ({run_dir / PARITY_DIR})"
        )
        return
    click.echo(f"parity: DIFFERENT after {result.compared:,} equal events: {result.cause()}")
    sys.exit(1)


@click.command()
@click.argument("action", type=click.Choice(list(ACTIONS)))
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=False)
@click.option("--url", default=None, help="The control API's address (default: from RUN_DIR/endpoints.json).")
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The bearer token's file (default: the one the session's configuration names).",
)
def ctl(action: str, run_dir: Path | None, url: str | None, token_file: Path | None) -> None:
    """Operate a running live session: status, enable or disable trading, kill, stop.

    \b
    status   where the session is: position, digest, trading, books, inventory, PnL
    enable   trading on (a TRADING_ENABLED in the journal, the operator as its source)
    disable  trading off: no new orders; working ones stay
    kill     the kill switch: every order cancelled, no new ones (a KILL_SWITCH in the journal)
    stop     stop the session cleanly (SESSION_STOP, reason OPERATOR) and write its outputs

    RUN_DIR (the session's run directory) tells where the node listens and which token file
    to use; --url and --token-file say it directly.
    """
    try:
        if url is None or token_file is None:
            if run_dir is None:
                raise click.UsageError("give RUN_DIR, or both --url and --token-file")
            found_url, found_token = run_endpoint(run_dir)
            url, token_file = url or found_url, token_file or found_token
        answer = control_request(url, token_file, action)
    except CanonicalFlowError as error:
        fail(error)
    if action != "status":
        click.echo(json.dumps(answer))
        return
    click.echo(f"session        {answer['name']} ({answer['session']}), {answer['run_dir']}")
    click.echo(f"position       {answer['position']:,}  digest {answer['digest']}")
    trading = "on" if answer["trading_enabled"] else "off"
    click.echo(f"trading        {trading}{', KILL SWITCH engaged' if answer['kill_switch'] else ''}")
    click.echo(f"ready          {'yes' if answer['ready'] else 'no'} ({answer['decisions']:,} decisions)")
    for symbol, book in answer["instruments"].items():
        pnl = "n/a" if book["pnl"] is None else f"{book['pnl']:,.2f}"
        click.echo(
            f"{symbol:<14} {'synced' if book['synced'] else 'NOT synced'} at {book['update_id']}, "
            f"inventory {book['inventory_lots']} lots, {book['open_orders']} open orders, pnl {pnl}"
        )
    feed = answer["feed"]
    click.echo(
        f"feed           {feed['frames']:,} frames, {feed['connections']} connections, {feed['waiting']} waiting"
    )
