"""Our live feed client against the local exchange serving the real Binance captures.

The exchange speaks Binance's public protocol (combined streams, REST depth snapshots); the feed
client synchronises each book by the `book_sync` machine, the same rule the batch normalizer of
captures uses. Shown on all four captures: the client ends at the exchange's last update id
with the exchange's book, what it records reads back to exactly the events it made live, and
nothing is lost but the diffs its own snapshot already held.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from _local import GRIDS, Grid, load, serve_and_feed

from canonicalflow.book import L2Book, apply_l2
from canonicalflow.data.normalize import Quarantine, read_binance_stream
from canonicalflow.data.normalize._binance import SUPERSEDED
from canonicalflow.data.normalize._common import units_converter
from canonicalflow.events import EventKind, Flag
from canonicalflow.exchange import DepthBook, Faults, LocalExchange
from canonicalflow.live import BinanceFeed, FeedInstrument

TOP = 100  # levels a side compared: a client knows the 1,000 its snapshot gave and what diffs touched
TOP_SEEN = 20  # levels a side kept at every update id, to compare with the capture's own book


def _books_by_update_id(shared_data: Path, grid: Grid) -> dict[int, tuple[list, list]]:
    """The capture read as a file (the batch normalizer): its book's top levels after each diff."""
    path = shared_data / "hftbacktest_binance" / f"{grid.name}_20240808.gz"
    book, books = L2Book(), {}
    events = read_binance_stream(
        path, 1, Quarantine(), tick_size=grid.tick_size, lot_size=grid.lot_size, market=grid.market
    )
    for ev in events:
        apply_l2(book, ev)
        if ev.kind == EventKind.LEVEL_SET and ev.flags & Flag.LAST_IN_PACKET and not ev.flags & Flag.SNAPSHOT:
            books[ev.sequence] = (book.top(1, TOP_SEEN), book.top(-1, TOP_SEEN))
    return books


def _in_ticks(depth: DepthBook, grid: Grid) -> L2Book:
    price, qty = units_converter(grid.tick_size), units_converter(grid.lot_size)
    book = L2Book()
    for side, levels in ((1, depth.bids), (-1, depth.asks)):
        for p, q in levels.items():
            book.set_level(side, price(p), qty(q))
    return book


@pytest.mark.parametrize("grid", GRIDS, ids=lambda g: g.name)
def test_the_feed_client_builds_the_exchanges_book_and_its_recording_replays_exactly(
    shared_data: Path, tmp_path: Path, grid: Grid
) -> None:
    capture = load(shared_data, grid)
    session, _ = asyncio.run(serve_and_feed(capture, grid, tmp_path / "rec"))
    exchange, feed = session.exchange, session.feed

    assert feed.frames == exchange.sent == len(capture.messages)
    assert feed.update_id(capture.symbol) == exchange.books[capture.symbol].update_id
    served = _in_ticks(exchange.books[capture.symbol], grid)
    for side in (1, -1):
        assert session.book.top(side, TOP) == served.top(side, TOP)
    assert not session.book.crossed()

    trades_served = sum(1 for m in capture.messages if m.stream.endswith("@trade"))
    assert sum(1 for ev in session.events if ev.kind == EventKind.TRADE) == trades_served
    assert not any(ev.kind == EventKind.FEED_GAP for ev in session.events)
    assert {row.reason for row in feed.quarantine.rows} <= {SUPERSEDED}  # what our snapshot already held

    recorded = tmp_path / "rec" / f"{capture.symbol}.capture"
    again = read_binance_stream(
        recorded, 1, Quarantine(), tick_size=grid.tick_size, lot_size=grid.lot_size, market=grid.market
    )
    assert list(again) == session.events


@pytest.mark.parametrize("grid", [GRIDS[0], GRIDS[3]], ids=lambda g: g.name)
def test_with_every_fault_on_the_client_recovers_to_the_exchanges_book(
    shared_data: Path, tmp_path: Path, grid: Grid
) -> None:
    """Lost and delayed messages, chain gaps, dropped sockets and stale snapshots: each break is a
    FEED_GAP and a new snapshot, never a silently patched book, and the client ends on the
    exchange's book; what it recorded reads back to what it made."""
    capture = load(shared_data, grid)
    seen: dict[int, tuple[list, list]] = {}

    def record(update_id: int, book: L2Book) -> None:
        seen[update_id] = (book.top(1, TOP_SEEN), book.top(-1, TOP_SEEN))

    session, _ = asyncio.run(
        serve_and_feed(capture, grid, tmp_path / "rec", faults=Faults.chaos(), on_book=record)
    )
    exchange, feed = session.exchange, session.feed
    injected = exchange.injected
    assert all(injected[fault] > 0 for fault in ("dropped", "gaps", "delayed", "disconnects", "stale")), (
        injected
    )
    assert feed.connections == injected["disconnects"] + 1

    gaps = [ev for ev in session.events if ev.kind == EventKind.FEED_GAP]
    snapshots = [ev for ev in session.events if ev.kind == EventKind.SNAPSHOT_END]
    assert gaps and len(snapshots) == len(gaps) + 1  # the first book, then a new one after each gap
    dropped = [gap for gap in gaps if gap.gap_to == 0]  # the socket went: how much is missing is unknown
    assert 0 < len(dropped) <= injected["disconnects"]  # none while the book already waited for one
    book_at = 0  # each gap starts right after the last update the book held
    for ev in session.events:
        if ev.kind == EventKind.FEED_GAP:
            assert ev.sequence == book_at + 1
        elif ev.kind in (EventKind.LEVEL_SET, EventKind.SNAPSHOT_END):
            book_at = ev.sequence

    assert feed.update_id(capture.symbol) == exchange.books[capture.symbol].update_id
    served = _in_ticks(exchange.books[capture.symbol], grid)
    for side in (1, -1):
        assert session.book.top(side, TOP) == served.top(side, TOP)

    # Not only at the end: whenever our book said it was synced, it was the capture's book at
    # that update id (within the prices every snapshot served reached).
    truth = _books_by_update_id(shared_data, grid)
    price = units_converter(grid.tick_size)
    lowest_bid = max(price(s.deepest_bid[0][0]) for s in exchange.served)
    highest_ask = min(price(s.deepest_ask[0][0]) for s in exchange.served)
    compared = [u for u in seen if u in truth]
    assert len(compared) > len(seen) // 2
    for u in compared:
        for side, ours, true in zip((1, -1), seen[u], truth[u], strict=True):
            keep = (lambda p: p >= lowest_bid) if side == 1 else (lambda p: p <= highest_ask)
            assert [lv for lv in ours if keep(lv[0])] == [lv for lv in true if keep(lv[0])], u

    recorded = tmp_path / "rec" / f"{capture.symbol}.capture"
    again = read_binance_stream(
        recorded, 1, Quarantine(), tick_size=grid.tick_size, lot_size=grid.lot_size, market=grid.market
    )
    assert list(again) == session.events


def test_an_error_in_the_sink_ends_the_run_with_that_error_not_a_reconnect(shared_data: Path) -> None:
    """A consumer that fails (a full disk, a bug) must stop the feed loudly; treating it as a
    dropped socket would reconnect forever and lose the events it had made."""
    grid = GRIDS[3]
    capture = load(shared_data, grid)

    async def run() -> BinanceFeed:
        exchange = LocalExchange([capture], speed=0)
        host, port = await exchange.start()
        spec = FeedInstrument(1, capture.symbol, grid.tick_size, grid.lot_size, grid.market)
        feed = BinanceFeed([spec], f"ws://{host}:{port}", f"http://{host}:{port}", heartbeat_s=None)

        def sink(events: list) -> None:
            if any(ev.kind == EventKind.TRADE for ev in events):
                raise OSError("no space left on device")

        try:
            with pytest.raises(OSError, match="no space left"):
                await asyncio.wait_for(feed.run(sink, asyncio.Event()), 120)
        finally:
            await exchange.stop()
        return feed

    feed = asyncio.run(run())
    assert feed.connections == 1
