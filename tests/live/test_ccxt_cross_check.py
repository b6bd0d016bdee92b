"""An independent client, ccxt's Binance order-book watcher, against the local exchange.

ccxt (`ccxt.pro`) loads the markets, subscribes and fetches its snapshot from the local URLs and
keeps its own book by its own reading of Binance's procedure. Every book it hands back must
equal ours at the same update id, over a whole capture: that shows the local exchange speaks
Binance's protocol, not one we made up for our own client, and that our client reads it right.
The comparison covers the prices every snapshot served reached (the two clients take theirs at
different moments, and neither can know a level deeper than its snapshot went), and ccxt's habit
of trimming its book to the snapshot's depth, forgetting what falls below, is switched off.
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _local import GRIDS, Grid, load, serve_and_feed

from canonicalflow.data.normalize._common import units_converter
from canonicalflow.exchange import LocalExchange

ccxtpro = pytest.importorskip("ccxt.pro")

TOP = 20  # levels a side in each comparison
# ccxt's class for each market, the market type its URLs are keyed by, and the depth stream's speed
CLIENTS = {
    "usdm": ("binanceusdm", "linear", "0"),
    "coinm": ("binancecoinm", "inverse", "0"),
    "spot": ("binance", "spot", "100"),
}
REST = {"public": "/api/v3", "fapiPublic": "/fapi/v1", "dapiPublic": "/dapi/v1"}


def _ccxt_client(market: str, base: str) -> Any:
    name, kind, rate = CLIENTS[market]
    client = getattr(ccxtpro, name)(
        # a generous timeout: ccxt's 10 s default is a clock a loaded machine could run out
        {"timeout": 300_000, "options": {"watchOrderBookRate": rate, "fetchMarkets": {"types": [kind]}}}
    )
    for key, prefix in REST.items():
        client.urls["api"][key] = base + prefix
    client.urls["api"]["ws"][kind] = base.replace("http://", "ws://") + "/ws"
    return client


def _lots(grid: Grid, levels: list[list[float]]) -> list[tuple[int, int]]:
    """ccxt's float levels on our grid, through their shortest decimal text (exact for these)."""
    price, qty = units_converter(grid.tick_size), units_converter(grid.lot_size)
    return [(price(format(Decimal(repr(p)), "f")), qty(format(Decimal(repr(q)), "f"))) for p, q, *_ in levels]


@pytest.mark.parametrize("grid", GRIDS, ids=lambda g: g.name)
def test_ccxt_builds_the_same_book_as_ours_at_every_update_id_it_reports(
    shared_data: Path, grid: Grid
) -> None:
    capture = load(shared_data, grid)
    ours: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    theirs: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}

    async def ccxt_side(exchange: LocalExchange, base: str) -> None:
        client = _ccxt_client(grid.market, base)
        try:
            await client.load_markets()
            symbol = next(s for s, m in client.markets.items() if m["id"] == capture.symbol)
            final = None
            while final is None or theirs.get(final) is None:
                book = await client.watch_order_book(symbol)
                for side in (book["bids"], book["asks"]):
                    side._depth = sys.maxsize  # ccxt trims to the snapshot's depth and forgets the rest
                theirs[book["nonce"]] = (_lots(grid, book["bids"][:TOP]), _lots(grid, book["asks"][:TOP]))
                if exchange.done.is_set():
                    final = exchange.books[capture.symbol].update_id
        finally:
            await client.close()

    served: list = []

    async def both() -> None:
        session, _ = await serve_and_feed(capture, grid, wait_for=2, beside=ccxt_side, on_book=record)
        assert session.feed.update_id(capture.symbol) in theirs
        served.extend(session.exchange.served)

    def record(update_id: int, book: Any) -> None:
        ours[update_id] = (
            [(p, q) for p, q, *_ in book.top(1, TOP)],
            [(p, q) for p, q, *_ in book.top(-1, TOP)],
        )

    asyncio.run(both())
    # A client knows a level for sure only if its snapshot reached that far: compare the prices
    # every snapshot served (ours and ccxt's, taken at different moments) covered.
    price = units_converter(grid.tick_size)
    lowest_bid = max(price(s.deepest_bid[0][0]) for s in served)
    highest_ask = min(price(s.deepest_ask[0][0]) for s in served)

    def known(book: tuple[list[tuple[int, int]], list[tuple[int, int]]]) -> tuple[list, list]:
        return [lv for lv in book[0] if lv[0] >= lowest_bid], [lv for lv in book[1] if lv[0] <= highest_ask]

    compared = [u for u in theirs if u in ours]
    assert len(compared) > 100 and len(compared) == len(theirs)  # ccxt reports only synced books
    assert len(served) >= 2 and sum(
        len(known(ours[u])[0]) + len(known(ours[u])[1]) for u in compared
    ) > 20 * len(compared)
    assert [u for u in compared if known(theirs[u]) != known(ours[u])] == []
