"""The live node with every fault of the local exchange on: lost, delayed and reordered messages,
chain gaps, dropped sockets and stale snapshots. Each break is a FEED_GAP and a re-sync, never a
silently patched book: at the end the engine's book is the exchange's at the same update id, and
the session, faults and all, replays and passes parity."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from _local import BOUND_S, GRIDS, load

from canonicalflow.backtest import rerun_decisions
from canonicalflow.data.normalize._common import units_converter
from canonicalflow.events import EventKind
from canonicalflow.exchange import Faults, LocalExchange
from canonicalflow.journal import JournalReader
from canonicalflow.live import LiveNode, check_parity, load_live_config
from canonicalflow.state import Reader

REPO = Path(__file__).resolve().parents[2]
TOP = 100  # levels a side compared (what every snapshot and the diffs since reach)


def test_every_fault_on_the_node_ends_on_the_exchanges_book_and_its_session_is_proven(
    shared_data: Path, tmp_path: Path
) -> None:
    grid = GRIDS[0]
    capture = load(shared_data, grid)
    capture = dataclasses.replace(capture, messages=capture.messages[:32_000])
    symbol = capture.symbol

    async def scenario() -> tuple[LiveNode, LocalExchange]:
        exchange = LocalExchange(
            [capture], speed=8, grids={symbol: (grid.tick_size, grid.lot_size)}, faults=Faults.chaos()
        )
        host, port = await exchange.start()
        try:
            raw: dict[str, Any] = load_live_config(REPO / "examples" / "live-maker.toml").model_dump(
                mode="json", by_alias=True
            )
            raw["live"]["feed"].update(
                ws_url=f"ws://{host}:{port}", rest_url=f"http://{host}:{port}", heartbeat_s=None
            )
            node = LiveNode(load_live_config(raw), tmp_path / "run")
            last = exchange.books[symbol]

            def recovered() -> bool:  # the replay is over and the book is synced at its last update
                return (
                    exchange.done.is_set()
                    and node.feed.synced(symbol)
                    and node.feed.update_id(symbol) == last.update_id
                )

            await asyncio.wait_for(node.run(until=recovered), BOUND_S)
            return node, exchange
        finally:
            await exchange.stop()

    node, exchange = asyncio.run(scenario())
    # counted in messages, so they fire whatever the machine's speed (a stale snapshot needs the
    # node to ask while the replay is still faulty: tests/live/test_local_exchange.py covers it)
    assert all(exchange.injected[fault] > 0 for fault in ("dropped", "gaps", "delayed", "disconnects")), (
        exchange.injected
    )
    journal = list(JournalReader(tmp_path / "run" / "journal").events())
    gaps = [ev for ev in journal if ev.kind == EventKind.FEED_GAP]
    snapshots = [ev for ev in journal if ev.kind == EventKind.SNAPSHOT_END]
    assert gaps and len(snapshots) == len(gaps) + 1  # the first book, then a new one after each break
    assert {ev.kind for ev in journal} >= {EventKind.DISPATCH, EventKind.FILL}  # it traded throughout

    price, qty = units_converter(grid.tick_size), units_converter(grid.lot_size)
    book = Reader(node.session.core).book(1)
    served = exchange.books[symbol]
    for side, levels in ((1, served.bids), (-1, served.asks)):
        truth = sorted(((price(p), qty(q)) for p, q in levels.items()), reverse=side == 1)[:TOP]
        assert book.levels(side, TOP) == truth

    assert rerun_decisions(tmp_path / "run")[1] is None
    parity = check_parity(tmp_path / "run")
    assert parity.identical, parity.cause()
