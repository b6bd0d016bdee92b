"""`canonicalflow exchange serve`: the local exchange, serving real captures on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from pathlib import Path

import click

from canonicalflow.cli._errors import fail
from canonicalflow.errors import CanonicalFlowError
from canonicalflow.exchange import Capture, Faults, LocalExchange

__all__ = ["exchange"]


@click.group()
def exchange() -> None:
    """The local exchange: real venue captures served over the venue's own public protocol."""


@exchange.command("serve")
@click.argument(
    "captures", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; loopback by default.")
@click.option("--port", default=8765, show_default=True, help="Port to bind (0: any free port, printed).")
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    help="Replay pace: 1 is as recorded, 10 ten times faster, 0 as fast as the loop goes.",
)
@click.option(
    "--wait-for",
    default=1,
    show_default=True,
    help="Connections that must subscribe before the replay starts, so each client sees it all.",
)
@click.option(
    "--grid",
    "grids",
    multiple=True,
    metavar="SYMBOL=TICK,LOT",
    help="A symbol's tick and lot size for exchangeInfo (default: read off the capture's decimals).",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="NAME=N",
    help="Inject a fault: drop_every, gap_every, delay_every, disconnect_every (messages), "
    "stale_every (snapshot requests), quiet_tail; or `chaos` for all of them at once.",
)
@click.option(
    "--hold",
    is_flag=True,
    help="Pause the replay while no client is subscribed (a restarted client misses nothing).",
)
def serve(
    captures: tuple[Path, ...],
    host: str,
    port: int,
    speed: float,
    wait_for: int,
    grids: tuple[str, ...],
    faults: tuple[str, ...],
    hold: bool,
) -> None:
    """Serve Binance CAPTURES (one per symbol, `<receive ns> <JSON>` lines, plain or gzip).

    Streams at ws://HOST:PORT/ws and /stream?streams=..., REST depth snapshots at
    /fapi/v1/depth (USD-M), /dapi/v1/depth (COIN-M) and /api/v3/depth (spot), exchangeInfo, and
    progress at /_local/status. Stops on Ctrl-C or SIGTERM.
    """
    try:
        loaded = [Capture.load(path) for path in captures]
        server = LocalExchange(
            loaded, speed=speed, wait_for=wait_for, grids=_grids(grids), faults=_faults(faults), hold=hold
        )
    except (CanonicalFlowError, ValueError) as error:
        fail(error)
    asyncio.run(_serve(server, host, port))


async def _serve(server: LocalExchange, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bound_host, bound_port = await server.start(host, port)
    for capture in server.captures:
        click.echo(
            f"{capture.symbol:<14} {capture.market:<6} {len(capture.messages):>9,} messages  {', '.join(capture.streams)}"
        )
    click.echo(f"serving on http://{bound_host}:{bound_port} (ws://{bound_host}:{bound_port}/ws)")
    await stop.wait()
    await server.stop()
    click.echo(f"stopped after {server.sent:,} messages")


def _grids(grids: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    parsed = {}
    for text in grids:
        symbol, _, sizes = text.partition("=")
        tick, _, lot = sizes.partition(",")
        if not (symbol and tick and lot):
            raise click.BadParameter(f"{text!r}: expected SYMBOL=TICK,LOT such as BTCUSDT=0.1,0.001")
        parsed[symbol.upper()] = (tick, lot)
    return parsed


def _faults(given: tuple[str, ...]) -> Faults:
    names = [f.name for f in dataclasses.fields(Faults)]
    chosen: dict[str, int] = {}
    for text in given:
        if text == "chaos":
            chosen |= {k: v for k, v in dataclasses.asdict(Faults.chaos()).items() if k != "quiet_tail"}
            continue
        name, _, count = text.partition("=")
        if name not in names or not count.isdigit():
            raise click.BadParameter(
                f"{text!r}: expected NAME=N with NAME one of {', '.join(names)}, or chaos"
            )
        chosen[name] = int(count)
    return Faults(**chosen)
