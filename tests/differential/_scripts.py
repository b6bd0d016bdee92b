"""Plausible scripted order sequences drawn from real market data, for the venue's differential test.

A script is what a simple quoting strategy would have sent: at the receive time of a feed event it
looks at the book it has received so far and quotes at the touch or a few ticks behind it, and it
cancels some orders later. Both engines replay the same script, so it only has to be plausible and
reproducible (one `random.Random(seed)`), never clever.

The book a strategy sees at local time T is every event received at or before T, the way
hftbacktest's local processor sees it: an action stamped T goes after the whole packet received at T.
The venue gets an order at T + entry on its own clock; when the capture's receive clock runs behind
the venue's (Binance's by about 1.27 s), a quote at the touch seen locally is often marketable on
arrival, and fills as a taker in both engines.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Iterable

from canonicalflow.book import ASK, BID, L2Book, apply_l2
from canonicalflow.events import Event, EventKind

from ._script import ScriptedOrder

__all__ = ["VARIANTS", "make_script"]

VARIANTS = ("maker", "taker")
_MS = 1_000_000
_SNAPSHOT_END = int(EventKind.SNAPSHOT_END)
_FEED = frozenset({int(EventKind.LEVEL_SET), int(EventKind.TRADE), int(EventKind.BBO)})


class _Moment:
    """The receive time of one or more feed events, with the touch of the book received by then."""

    __slots__ = ("ask", "bid", "ts")

    def __init__(self, ts: int, bid: int, ask: int) -> None:
        self.ts, self.bid, self.ask = ts, bid, ask


def _moments(events: Iterable[Event]) -> list[_Moment]:
    """Each distinct receive time of a feed event after the first snapshot, with the touch as seen then.

    The book is applied event by event in stream (receive) order; the touch is taken after the last
    event received at that time. Times whose book is empty or crossed are left out, and so is the
    last time: an action there would come after every event, where hftbacktest's clock stops.
    """
    book = L2Book()
    moments: list[_Moment] = []
    synced = False
    pending_ts: int | None = None
    for e in events:
        if pending_ts is not None and e.ts_receive != pending_ts:
            _take(book, pending_ts, moments)
            pending_ts: int | None = None
        apply_l2(book, e)
        if e.kind == _SNAPSHOT_END:
            synced = True
        if synced and e.kind in _FEED:
            pending_ts = e.ts_receive
    return moments  # the last pending time is left out on purpose (see above)


def _take(book: L2Book, ts: int, moments: list[_Moment]) -> None:
    bid, ask = book.best(BID), book.best(ASK)
    if bid is not None and ask is not None and bid[0] < ask[0]:
        moments.append(_Moment(ts, bid[0], ask[0]))


def make_script(
    events: Iterable[Event],
    *,
    seed: int,
    orders: int,
    entry_ns: int,
    response_ns: int,
    variant: str = "maker",
) -> list[ScriptedOrder]:
    """`orders` new orders (ids 1..n) spread across the data, some with a later cancel, sorted by time.

    "maker": GTC (a few GTX) buys and sells at the touch or 1-3 ticks behind it, 1-5 lots.
    "taker": the same mixed with orders that reach the other side (IOC, FOK, GTC at or through the
    far touch) and GTX orders at the far touch (which a post-only order must not take).
    About a third of resting orders get a cancel, sent once the new order's ack has arrived locally
    plus at least 1 ms (entry + response + 1 ms, then up to 2 s more), at a feed event's receive time.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    if orders < 1:
        raise ValueError(f"orders must be positive, not {orders}")
    rng = random.Random(seed)
    moments = _moments(events)
    if len(moments) < orders:
        raise ValueError(f"only {len(moments)} usable moments in the data for {orders} orders")
    times = [m.ts for m in moments]
    # One moment drawn from each of `orders` equal slices of the data, so orders spread evenly.
    picks = [
        rng.randrange(len(moments) * k // orders, len(moments) * (k + 1) // orders) for k in range(orders)
    ]
    actions: list[tuple[int, int, ScriptedOrder]] = []  # (time, generation order, action)
    for order_id, index in enumerate(picks, 1):
        m = moments[index]
        side = rng.choice((1, -1))
        qty = rng.randint(1, 5)
        near, far = (m.bid, m.ask) if side == 1 else (m.ask, m.bid)
        taker = variant == "taker" and rng.random() < 0.4
        if taker:
            tif = rng.choice(("IOC", "FOK", "GTC", "GTX"))
            price = far + side * rng.randint(0, 2)  # at or through the far touch
        else:
            tif = "GTX" if rng.random() < 0.15 else "GTC"
            price = near - side * rng.choice((0, 0, 1, 2, 3))  # at the touch or 1-3 ticks behind
        actions.append((m.ts, len(actions), ScriptedOrder(m.ts, "new", order_id, side, price, qty, tif)))
        if tif in ("GTC", "GTX") and rng.random() < 0.35:
            earliest = m.ts + entry_ns + response_ns + _MS + rng.randrange(0, 2_000 * _MS)
            later = bisect_left(times, earliest)
            if later < len(times):
                at = times[later]
                actions.append((at, len(actions), ScriptedOrder(at, "cancel", order_id)))
    actions.sort(key=lambda item: (item[0], item[1]))
    return [action for _, _, action in actions]
