"""The simulated venue: our orders against the replayed book, on the venue's own clock.

It sits behind the same boundary as a real venue (`VenueAdapter`): requests go in with `send`,
reports come out as canonical execution events stamped with the venue's time and the time we
receive them. The replayed book is never changed by our orders (taker liquidity we consumed is
withheld until the feed refreshes its level). What fills a resting order, at what price and in
what order is written in spec/queue_place.cflow and generated into docs/spec/queue_place.md.
"""

from __future__ import annotations

import dataclasses
import heapq
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from fractions import Fraction

import numpy as np

from canonicalflow.book import BID
from canonicalflow.config import CoreConfig
from canonicalflow.errors import InvariantViolation
from canonicalflow.events import Command, Event, EventKind, OrderType, TimeInForce
from canonicalflow.queue import QueuedBook, QueuePlace
from canonicalflow.venue._config import VenueConfig

__all__ = ["SimulatedVenue", "VenueReason", "venue_time"]

_DAY_NS = 86_400_000_000_000
_NEW, _REPLACE, _CANCEL = Command.NEW, Command.REPLACE, Command.CANCEL  # Event.command codes
_MAKER, _TAKER = 1, 2
_K = EventKind


class VenueReason(IntEnum):
    """Reason codes the simulated venue puts on refusals and venue cancels."""

    UNKNOWN_ORDER = 1  # no live order with this client order id
    POST_ONLY_WOULD_TAKE = 2  # a post-only order (or its new price) would have taken liquidity
    BAD_REQUEST = 3  # a quantity below one lot, or a market order that is not IOC/FOK-like


def venue_time(ev: Event, clock: str = "exchange") -> int:
    """When the venue acted on a market event: its exchange time (the receive time if unknown), or,
    on the `receive` clock (`VenueConfig.market_clock`), when we received it."""
    return ev.ts_exchange if ev.ts_exchange > 0 and clock == "exchange" else ev.ts_receive


def venue_times(exchange: np.ndarray, received: np.ndarray, clock: str = "exchange") -> np.ndarray:
    """`venue_time` of rows given as columns."""
    return np.where(exchange > 0, exchange, received) if clock == "exchange" else received


@dataclass(slots=True)
class _Order:
    """One of our orders as the venue holds it."""

    coid: int
    instrument: int
    side: int
    price: int
    qty: int
    cum: int
    order_type: int
    tif: int
    expire_ts: int
    venue_id: int

    @property
    def leaves(self) -> int:
        return self.qty - self.cum


class SimulatedVenue:
    """The venue a backtest trades with; also a `VenueAdapter`."""

    def __init__(self, core_config: CoreConfig, config: VenueConfig) -> None:
        self.config = config
        self._l3 = config.book == "l3"
        self._whole = config.fills == "whole"
        self._model = config.build_queue_model()
        self._latency = config.latency.build(config.seed)
        self._markets = {i.id: QueuedBook(self._l3, self._model) for i in core_config.instruments}
        self._value = {
            i.id: _notional_unit(i.tick_size, i.lot_size, i.multiplier, i.currency_decimals)
            for i in core_config.instruments
        }
        self._rates = {
            f.instrument: (Fraction(Decimal(f.maker)), Fraction(Decimal(f.taker))) for f in config.fees
        }
        self._orders: dict[int, _Order] = {}  # live orders by client order id
        self._inbox: list[tuple[int, int, Event]] = []  # (arrival at the venue, seq, request)
        self._expiries: list[tuple[int, int, int]] = []  # (expire_ts, seq, client order id)
        self._outbox: list[tuple[int, int, Event]] = []  # (our receive time, seq, report)
        self._seq = 0
        self._last_arrival = 0  # requests reach the venue in the order we sent them (one session)
        self._last_delivery = 0  # reports reach us in the order the venue sent them
        self._next_venue_id = 0
        self._next_trade_id = 0

    # ------------------------------------------------------------ the boundary
    def send(self, request: Event) -> None:
        """A DISPATCH leaves us at its receive time and reaches the venue after the entry latency."""
        ts = request.ts_receive
        arrival = max(ts + self._latency.entry(ts, request.command), self._last_arrival)
        self._last_arrival = arrival  # one session: requests arrive in the order they were sent
        self._push(self._inbox, arrival, request)

    def next_report_ts(self) -> int | None:
        return self._outbox[0][0] if self._outbox else None

    def pop_report(self) -> Event:
        return heapq.heappop(self._outbox)[2]

    # ------------------------------------------------------- the venue's clock
    def next_venue_ts(self) -> int | None:
        """When the venue next acts on its own: a request arriving or an order expiring."""
        inbox, expiries = self._inbox, self._expiries
        if inbox and expiries:
            return min(inbox[0][0], expiries[0][0])
        return inbox[0][0] if inbox else expiries[0][0] if expiries else None

    def act(self) -> None:
        """Do the venue's earliest pending work (a request, or an expiry at the same time first)."""
        if self._expiries and (not self._inbox or self._expiries[0][0] <= self._inbox[0][0]):
            ts, _, coid = heapq.heappop(self._expiries)
            order = self._orders.get(coid)
            if order is not None and order.expire_ts == ts:
                self._finish(order, ts, _K.EXPIRED, _NEW)
            return
        ts, _, request = heapq.heappop(self._inbox)
        if request.command == _NEW:
            self._new(request, ts)
        elif request.command == _REPLACE:
            self._replace(request, ts)
        else:
            self._cancel(request, ts)

    def quiet(self) -> bool:
        """None of our orders is here or on its way, either way: market data moves only the books."""
        return (
            not self._orders
            and not self._inbox
            and not self._outbox
            and all(market.quiet for market in self._markets.values())
        )

    def fold_levels(
        self, instrument: int, side: np.ndarray, price: np.ndarray, qty: np.ndarray, flags: np.ndarray
    ) -> None:
        """An instrument's level sets in venue-time order, folded at once while `quiet()`."""
        market = self._markets.get(instrument)
        if market is not None:
            market.set_levels(side, price, qty, flags)

    def on_market(self, ev: Event) -> None:
        """Apply one market event at the venue's time, then fill whatever it reached."""
        market = self._markets.get(ev.instrument)
        if market is None:
            return
        ts = venue_time(ev, self.config.market_clock)
        try:
            _, fills = market.apply(ev, self._leaves, self._whole)  # a refused event fills nothing
        except InvariantViolation as violation:  # a queue model broke the queue-place machine
            raise (
                violation if violation.position is not None else violation.located(ev.position, ev)
            ) from None
        for coid, lots in fills:
            order = self._orders.get(coid)
            if order is not None:  # an earlier fill of this event may have finished it
                self._fill(order, order.price, min(lots, order.leaves), _MAKER, ts)

    def _leaves(self, coid: int) -> int:
        return self._orders[coid].leaves

    # ---------------------------------------------------------------- requests
    def _new(self, request: Event, ts: int) -> None:
        market = self._markets.get(request.instrument)
        if market is None or request.qty < 1:
            self._report(_K.REJECT, request, ts, _NEW, reason=VenueReason.BAD_REQUEST)
            return
        self._next_venue_id += 1
        order = _Order(
            request.client_order_id,
            request.instrument,
            request.side,
            request.price,
            request.qty,
            0,
            request.order_type,
            request.tif,
            request.expire_ts,
            self._next_venue_id,
        )
        if order.tif == TimeInForce.DAY:
            order.expire_ts = (
                self.config.day_end_ns + ((ts - self.config.day_end_ns) // _DAY_NS + 1) * _DAY_NS
            )
        takes = self._marketable(market, order)
        if order.tif == TimeInForce.POST_ONLY and takes:
            repriced = self._post_only_price(market, order.side)
            if repriced is None:
                self._report(_K.REJECT, request, ts, _NEW, reason=VenueReason.POST_ONLY_WOULD_TAKE)
                return
            order.price, takes = repriced, False
        self._orders[order.coid] = order
        self._report(_K.ACK, order, ts, _NEW, order_id=order.venue_id, price=order.price, qty=order.qty)
        expired = order.tif == TimeInForce.GTD and order.expire_ts <= ts  # arrived too late to trade
        if takes and not expired:
            self._take(market, order, ts)
        if order.leaves == 0:
            return
        immediate = order.order_type == OrderType.MARKET or order.tif in (TimeInForce.IOC, TimeInForce.FOK)
        if immediate or expired:
            self._finish(order, ts, _K.EXPIRED, _NEW)
            return
        market.join(order.coid, order.side, order.price)
        if order.tif in (TimeInForce.GTD, TimeInForce.DAY) and order.expire_ts > 0:
            self._push(self._expiries, order.expire_ts, order.coid)

    def _replace(self, request: Event, ts: int) -> None:
        order = self._orders.get(request.client_order_id)
        if order is None:
            self._report(_K.REPLACE_REJECT, request, ts, _REPLACE, reason=VenueReason.UNKNOWN_ORDER)
            return
        market = self._markets[order.instrument]
        limit = order.order_type == OrderType.LIMIT
        trial = dataclasses.replace(order, price=request.price if limit else order.price, qty=request.qty)
        takes = limit and trial.price != order.price and self._marketable(market, trial)
        if takes and order.tif == TimeInForce.POST_ONLY:
            repriced = self._post_only_price(market, order.side)
            if repriced is None:
                self._report(_K.REPLACE_REJECT, order, ts, _REPLACE, reason=VenueReason.POST_ONLY_WOULD_TAKE)
                return
            trial.price, takes = repriced, False
        moved = trial.price != order.price
        grows = request.qty - order.cum > order.leaves
        order.qty = request.qty
        if (
            order.tif == TimeInForce.GTD
            and request.tif == TimeInForce.GTD
            and request.expire_ts != order.expire_ts
        ):
            order.expire_ts = request.expire_ts  # a new expiry; the old timer finds nothing to do
            self._push(self._expiries, order.expire_ts, order.coid)
        self._report(_K.REPLACE_ACK, order, ts, _REPLACE, price=trial.price, qty=order.qty)
        if order.leaves <= 0:  # replaced down to what already executed: the order is done
            self._leave(market, order)
            return
        if moved or grows:
            market.queues.leave(order.coid)
            order.price = trial.price
            if takes:
                self._take(market, order, ts)
                if order.leaves == 0:
                    return
            market.join(order.coid, order.side, order.price)

    def _cancel(self, request: Event, ts: int) -> None:
        order = self._orders.get(request.client_order_id)
        if order is None:
            self._report(_K.CANCEL_REJECT, request, ts, _CANCEL, reason=VenueReason.UNKNOWN_ORDER)
            return
        self._finish(order, ts, _K.CANCEL_ACK, _CANCEL)

    # -------------------------------------------------------------- matching
    def _marketable(self, market: QueuedBook, order: _Order) -> bool:
        best = market.best_price(-order.side)
        if best is None:
            return False
        if order.order_type == OrderType.MARKET:
            return True
        return order.price >= best if order.side == BID else order.price <= best

    def _post_only_price(self, market: QueuedBook, side: int) -> int | None:
        """Where a post-only order that would take rests instead: one tick on our side of the
        opposite best in reprice mode, nowhere (None: refused) in reject mode."""
        if self.config.post_only == "reject":
            return None
        best = market.best_price(-side)
        assert best is not None  # only asked for an order that would have taken
        return best - side

    def _take(self, market: QueuedBook, order: _Order, ts: int) -> None:
        """Fill a taker against the displayed depth (or wholly at the best, in whole-fill mode)."""
        opposite = -order.side
        if self._whole:
            best = market.best_price(opposite)
            assert best is not None
            self._fill(order, best, order.leaves, _TAKER, ts)
            return
        limit = None if order.order_type == OrderType.MARKET else order.price
        takes: list[tuple[int, int]] = []
        wanted = order.leaves
        for price, shown in market.available(opposite):
            if wanted == 0 or (limit is not None and (price > limit if order.side == BID else price < limit)):
                break
            lots = min(wanted, shown)
            if lots > 0:
                takes.append((price, lots))
                wanted -= lots
        if order.tif == TimeInForce.FOK and wanted > 0:
            return  # all or nothing: the caller expires it untouched
        for price, lots in takes:
            market.take(opposite, price, lots)
            self._fill(order, price, lots, _TAKER, ts)

    # ----------------------------------------------------------------- reports
    def _fill(self, order: _Order, price: int, lots: int, liquidity: int, ts: int) -> None:
        if lots <= 0:
            return
        self._next_trade_id += 1
        order.cum += lots
        maker, taker = self._rates.get(order.instrument, (Fraction(0), Fraction(0)))
        rate = maker if liquidity == _MAKER else taker
        fee = round(self._value[order.instrument] * abs(price) * lots * rate)  # on the notional's size
        self._report(
            _K.FILL,
            order,
            ts,
            _NEW,
            side=order.side,
            price=price,
            qty=lots,
            trade_id=self._next_trade_id,
            liquidity=liquidity,
            fee=fee,
        )
        if order.leaves == 0:
            self._leave(self._markets[order.instrument], order)

    def _finish(self, order: _Order, ts: int, kind: EventKind, command: int) -> None:
        """The order leaves the venue with its remaining quantity (cancel, expiry)."""
        self._report(kind, order, ts, command)
        self._leave(self._markets[order.instrument], order)

    def _leave(self, market: QueuedBook, order: _Order) -> None:
        del self._orders[order.coid]
        if order.coid in market.queues.places:
            market.queues.leave(order.coid)

    def _report(self, kind: EventKind, about: _Order | Event, ts: int, command: int, **fields: int) -> None:
        instrument = about.instrument
        coid = about.coid if isinstance(about, _Order) else about.client_order_id
        recv = max(ts + self._latency.response(ts, command), self._last_delivery)
        self._last_delivery = recv
        report = Event(
            kind=int(kind),
            ts_exchange=ts,
            ts_receive=recv,
            instrument=instrument,
            client_order_id=coid,
            **fields,
        )
        self._push(self._outbox, recv, report)

    def _push(self, heap: list, ts: int, item: object) -> None:
        self._seq += 1
        heapq.heappush(heap, (ts, self._seq, item))

    def queue_place(self, coid: int) -> QueuePlace | None:
        """Lots ahead and lots displayed of a resting order at the venue: the truth the model keeps."""
        order = self._orders.get(coid)
        place = self._markets[order.instrument].queues.places.get(coid) if order else None
        return place.lots if place else None


def _notional_unit(tick_size: str, lot_size: str, multiplier: int, decimals: int) -> Fraction:
    """Minimal currency units of one tick times one lot: notional = this x price x lots."""
    return Fraction(Decimal(tick_size)) * Fraction(Decimal(lot_size)) * multiplier * 10**decimals
