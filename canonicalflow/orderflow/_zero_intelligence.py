"""A seeded zero-intelligence order flow: order-level events with a plausible spread, depth and trade rate.

The Santa Fe model (Smith, Farmer, Gillemot and Krishnamurthy, 2003): limit orders arrive at a
constant rate at every price within `levels` ticks of the opposite best, market orders arrive at
a constant rate on each side, and every resting order is canceled at a constant rate. The
spread, the depth profile and the trade rate then follow from the rates alone. Events come
out as the canonical order-level kinds (ORDER_ADD, ORDER_CANCEL, ORDER_FILL, with a TRADE ahead
of the fills of each market order), in receive order, with a seeded feed latency. It is shipped
so a backtest can run without redistributing anyone's market data; it is no model of any real
venue.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field

from canonicalflow.book import ASK, BID, L3Book
from canonicalflow.events import Event, EventKind, Flag

__all__ = ["ZeroIntelligence", "zero_intelligence"]

_ADD, _CANCEL, _FILL, _TRADE = (
    int(EventKind.ORDER_ADD),
    int(EventKind.ORDER_CANCEL),
    int(EventKind.ORDER_FILL),
    int(EventKind.TRADE),
)
_LAST = int(Flag.LAST_IN_PACKET)


class ZeroIntelligence(BaseModel):
    """The model's rates and shapes; the defaults give a 1-3 tick spread and a few trades a second."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_price: int = Field(default=10_000, gt=0, description="ticks: where the first book is centred")
    levels: int = Field(
        default=20, gt=0, description="limit orders land 1..levels ticks from the opposite best"
    )
    limit_rate: float = Field(
        default=0.6, gt=0, description="limit orders per second at each of those prices"
    )
    market_rate: float = Field(default=1.5, gt=0, description="market orders per second on each side")
    cancel_rate: float = Field(default=0.04, gt=0, description="cancels per second of each resting order")
    mean_lots: float = Field(default=4.0, ge=1, description="mean order size in lots (geometric)")
    feed_latency_ns: int = Field(default=200_000, ge=0, description="median delay from venue to us")
    start_ns: int = Field(
        default=1_700_000_000_000_000_000, ge=0, description="exchange time of the first event"
    )


def zero_intelligence(
    params: ZeroIntelligence, seed: int, events: int, instrument: int = 1
) -> Iterator[Event]:
    """`events` canonical events (positions 1..events), the same for the same parameters and seed."""
    flow = _Flow(params, random.Random(seed), instrument)
    position = 0
    while True:
        for ev in flow.next_message():
            position += 1
            yield ev._replace(position=position)
            if position == events:
                return


class _Flow:
    """The book and the clocks; each step is one message of the venue (one packet of events)."""

    def __init__(self, params: ZeroIntelligence, rng: random.Random, instrument: int) -> None:
        self.p, self.rng, self.instrument = params, rng, instrument
        self.book = L3Book()
        self.resting: list[int] = []  # order ids, for a uniform choice of the order to cancel
        self.index: dict[int, int] = {}  # order id -> its place in `resting`
        self.next_id = 0
        self.trade_id = 0
        self.sequence = 0
        self.now = params.start_ns
        self.received = params.start_ns
        self.last_price = params.start_price
        self._geometric = 1.0 - 1.0 / params.mean_lots  # P(size > k | size >= k)

    def next_message(self) -> list[Event]:
        p, rng = self.p, self.rng
        limit_total = 2 * p.limit_rate * p.levels
        market_total = 2 * p.market_rate
        cancel_total = p.cancel_rate * len(self.resting)
        total = limit_total + market_total + cancel_total
        self.now += max(1, round(rng.expovariate(total) * 1e9))
        self.sequence += 1
        pick = rng.random() * total
        if pick < limit_total:
            events = self._limit(BID if pick < limit_total / 2 else ASK)
        elif pick < limit_total + market_total:
            events = self._market(BID if pick - limit_total < p.market_rate else ASK)
        else:
            events = self._cancel(self.resting[rng.randrange(len(self.resting))])
        if not events:
            return []
        latency = round(p.feed_latency_ns * rng.lognormvariate(0.0, 0.25))
        self.received = max(self.received, self.now + latency)  # one feed: in order, never overtaking
        stamped = [ev._replace(ts_exchange=self.now, ts_receive=self.received) for ev in events]
        stamped[-1] = stamped[-1]._replace(flags=stamped[-1].flags | _LAST)
        return stamped

    def _size(self) -> int:
        lots = 1
        while self.rng.random() < self._geometric:
            lots += 1
        return lots

    def _limit(self, side: int) -> list[Event]:
        opposite = self.book.best(-side)
        reference = (
            opposite[0] if opposite else self.last_price + side
        )  # an empty side: quote off the last trade
        price = reference - side * self.rng.randint(1, self.p.levels)
        self.next_id += 1
        order_id, lots = self.next_id, self._size()
        self.book.add(order_id, side, price, lots)
        self.index[order_id] = len(self.resting)
        self.resting.append(order_id)
        return [self._event(_ADD, order_id=order_id, side=side, price=price, qty=lots)]

    def _market(self, side: int) -> list[Event]:
        """A market order from `side` takes the opposite side's orders in price-time priority."""
        wanted = self._size()
        events: list[Event] = []
        for price in list(self.book.prices(-side)):
            level = self.book.level(-side, price)
            assert level is not None
            taken = 0
            fills = []
            for order_id, lots in list(level.orders.items()):
                if wanted == 0:
                    break
                lots_here = min(wanted, lots)
                wanted -= lots_here
                taken += lots_here
                self.trade_id += 1
                fills.append(
                    self._event(
                        _FILL,
                        order_id=order_id,
                        side=-side,
                        price=price,
                        qty=lots_here,
                        trade_id=self.trade_id,
                    )
                )
                self.book.reduce(order_id, lots_here)
                if lots_here == lots:
                    self._forget(order_id)
            if taken:
                events.append(self._event(_TRADE, side=side, price=price, qty=taken, trade_id=self.trade_id))
                events.extend(fills)
                self.last_price = price
            if wanted == 0:
                break
        return events

    def _cancel(self, order_id: int) -> list[Event]:
        side, price = self.book.orders[order_id]
        level = self.book.level(side, price)
        assert level is not None
        lots = level.orders[order_id]
        self.book.reduce(order_id, lots)
        self._forget(order_id)
        return [self._event(_CANCEL, order_id=order_id, side=side, price=price, qty=lots)]

    def _forget(self, order_id: int) -> None:
        """Take the order out of the cancel list in O(1): the last one takes its slot."""
        slot = self.index.pop(order_id)
        last = self.resting.pop()
        if last != order_id:
            self.resting[slot] = last
            self.index[last] = slot

    def _event(self, kind: int, **fields: int) -> Event:
        return Event(kind=kind, instrument=self.instrument, sequence=self.sequence, **fields)
