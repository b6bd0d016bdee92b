"""The four real Binance captures, and a local exchange with our feed client attached to it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from canonicalflow.book import L2Book, apply_l2
from canonicalflow.events import Event
from canonicalflow.exchange import Capture, Faults, LocalExchange
from canonicalflow.live import BinanceFeed, FeedInstrument

BOUND_S = 300  # every session is bounded; none comes near it on a loaded machine


class Grid(NamedTuple):
    name: str
    tick_size: str
    lot_size: str
    market: str


GRIDS = [
    Grid("usdm_btcusdt", "0.1", "0.001", "usdm"),
    Grid("usdm_ethusdt", "0.01", "0.001", "usdm"),
    Grid("cm_btcusd_perp", "0.1", "1", "coinm"),
    Grid("spot_btcusdt", "0.01", "0.000001", "spot"),
]


def load(shared_data: Path, grid: Grid) -> Capture:
    return Capture.load(shared_data / "hftbacktest_binance" / f"{grid.name}_20240808.gz")


@dataclass
class Session:
    """What one feed client made of a whole capture served by the local exchange."""

    exchange: LocalExchange
    feed: BinanceFeed
    events: list[Event]
    book: L2Book


async def serve_and_feed(
    capture: Capture,
    grid: Grid,
    record_dir: Path | None = None,
    *,
    wait_for: int = 1,
    beside: Callable[[LocalExchange, str], Awaitable[Any]] | None = None,
    on_book: Callable[[int, L2Book], None] | None = None,
    faults: Faults | None = None,
) -> tuple[Session, Any]:
    """Serve `capture` as fast as the loop goes, feed it to our client until the client has every
    frame the exchange sent (with `faults`: until its book is synced at the exchange's last update
    id); `beside(exchange, base_url)` runs another client at the same time, and
    `on_book(update_id, book)` hears our book after each line while it is synced."""
    exchange = LocalExchange(
        [capture],
        speed=0,
        wait_for=wait_for,
        grids={capture.symbol: (grid.tick_size, grid.lot_size)},
        faults=faults,
    )
    host, port = await exchange.start()
    base = f"http://{host}:{port}"
    try:
        spec = FeedInstrument(1, capture.symbol, grid.tick_size, grid.lot_size, grid.market)
        # no heartbeat: a ping answered late on a loaded machine must not read as a dropped socket
        feed = BinanceFeed([spec], f"ws://{host}:{port}", base, record_dir=record_dir, heartbeat_s=None)
        events: list[Event] = []
        book = L2Book()

        def sink(batch: list[Event]) -> None:
            events.extend(batch)
            for ev in batch:
                apply_l2(book, ev)
            if on_book is not None and feed.synced(capture.symbol):
                on_book(feed.update_id(capture.symbol), book)

        def everything() -> bool:
            if not exchange.done.is_set():
                return False
            if faults is not None:
                last = exchange.books[capture.symbol].update_id
                return feed.synced(capture.symbol) and feed.update_id(capture.symbol) == last
            return feed.frames == exchange.sent

        ours = feed.run(sink, asyncio.Event(), until=everything)
        other = beside(exchange, base) if beside is not None else asyncio.sleep(0)
        _, answer = await asyncio.wait_for(asyncio.gather(ours, other), BOUND_S)
        feed.close()
        return Session(exchange, feed, events, book), answer
    finally:
        await exchange.stop()
