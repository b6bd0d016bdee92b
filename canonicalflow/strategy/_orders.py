"""Our orders as the strategy knows them: terms from the requests, progress from the reports.

A projection of the recorded stream, like the queue tracker: fed every event after the Core has
applied it, so the Core's order-lifecycle state is already there to read. It keeps every order
of the run (the orders table is made from it) and an index of those still open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from canonicalflow._generated import execution_control_kernel as ec
from canonicalflow._generated import order_lifecycle_kernel as order
from canonicalflow.events import Event, EventKind
from canonicalflow.state import FINAL_ORDER_STATES, Core
from canonicalflow.venue import QueuePosition, QueueTracker

__all__ = ["OrderRecord", "OwnOrder", "OwnOrders"]

_K = EventKind
_PENDING = {ec.SLOT_NEW: "new", ec.SLOT_REPLACE: "replace", ec.SLOT_CANCEL: "cancel"}


@dataclass
class OrderRecord:
    """One order's life, for the orders table."""

    client_order_id: int
    instrument: int
    side: int
    order_type: int
    tif: int
    expire_ts: int
    price: int
    qty: int
    submitted_ts: int
    filled: int = 0
    status: str = "PendingNew"
    acked_ts: int = 0
    final_ts: int = 0
    replaces: int = 0
    reject_reason: int = 0
    queue_ahead_at_ack: float = math.nan


class OwnOrder(NamedTuple):
    """A working (or still queued) order, as a strategy reads it."""

    client_order_id: int
    instrument: int
    side: int
    price: int  # ticks
    qty: int  # lots
    filled: int
    status: str  # the order-lifecycle state, or "Queued" before it is sent
    pending: str | None  # "new", "replace" or "cancel" while a command waits or is in flight
    queue: QueuePosition | None  # our place at the venue, as far as we can tell; None if not resting
    order_type: int = 0  # OrderType: 0 limit, 1 market (its price is 0)
    requested: tuple[int, int] | None = None  # (price, qty) a pending REPLACE asks for

    @property
    def leaves(self) -> int:
        return self.qty - self.filled


class OwnOrders:
    def __init__(self, core: Core, tracker: QueueTracker) -> None:
        self._core, self._tracker = core, tracker
        self.records: list[OrderRecord] = []
        self.open: dict[int, OrderRecord] = {}  # client order id -> a dispatched order not yet final
        self._known: dict[int, OrderRecord] = {}  # client order id -> its latest order, final or not
        self._sent_price: dict[int, int] = {}  # client order id -> price of its REPLACE in flight

    def apply(self, ev: Event) -> None:
        kind = ev.kind
        if kind == _K.DISPATCH:
            self._dispatched(ev)
        elif 20 <= kind < 40 and (record := self._known.get(ev.client_order_id)) is not None:
            self._reported(record, ev)  # a final one too: a bust or correction can re-open it

    def _dispatched(self, ev: Event) -> None:
        coid = ev.client_order_id
        sent = self._core.keys.get(coid)
        if ev.reason or sent is None or sent.inflight != ev.command:
            return  # withdrawn, refused or dropped: nothing went to the venue
        if ev.command == ec.SLOT_NEW:
            record = OrderRecord(
                coid,
                ev.instrument,
                ev.side,
                ev.order_type,
                ev.tif,
                ev.expire_ts,
                ev.price,
                ev.qty,
                ev.ts_receive,
            )
            self.records.append(record)
            self.open[coid] = self._known[coid] = record
        elif ev.command == ec.SLOT_REPLACE and coid in self.open:
            self.open[coid].replaces += 1
            self._sent_price[coid] = ev.price

    def _reported(self, record: OrderRecord, ev: Event) -> None:
        kind = ev.kind
        if kind == _K.ACK:
            record.acked_ts, record.price, record.qty = ev.ts_receive, ev.price, ev.qty
            place = self._tracker.position(record.client_order_id)
            record.queue_ahead_at_ack = place.ahead if place else math.nan
        elif kind == _K.REPLACE_ACK:
            record.price, record.qty = ev.price, ev.qty
            self._sent_price.pop(record.client_order_id, None)
        elif kind == _K.REPLACE_REJECT:
            self._sent_price.pop(record.client_order_id, None)
        elif kind == _K.REJECT:
            record.reject_reason = ev.reason
        state = self._core.orders.get(record.client_order_id)
        if state is None:
            return
        coid = record.client_order_id
        record.status = order.STATE_NAMES[state.state]
        record.filled = state.cum
        if state.state in FINAL_ORDER_STATES:
            record.final_ts = record.final_ts or ev.ts_receive
            self.open.pop(coid, None)
            self._sent_price.pop(coid, None)
        elif coid not in self.open:  # re-opened by a bust or a correction: it works again
            record.final_ts = 0
            self.open[coid] = record

    def view(self, instrument: int | None = None) -> list[OwnOrder]:
        """Open orders (and NEWs still queued), oldest first."""
        core = self._core
        found = [self._own(r) for r in self.open.values() if instrument is None or r.instrument == instrument]
        for coid, request in core.requests.items():
            key = core.keys.get(coid)
            if key is None or key.queued != ec.SLOT_NEW or coid in self.open:
                continue
            at = core.key_instrument.get(coid)
            if instrument is None or at == instrument:
                _, side, price, qty, order_type, *_ = request
                found.append(OwnOrder(coid, at, side, price, qty, 0, "Queued", "new", None, order_type))
        return found

    def record(self, coid: int) -> OrderRecord | None:
        """The latest order sent under this client order id, open or not."""
        return self._known.get(coid)

    def terms(self, coid: int) -> tuple[int, int, int, int]:
        """Side, order type, time in force and expiry of an open or queued order (zeros if unknown)."""
        record = self.open.get(coid)
        if record is not None:
            return record.side, record.order_type, record.tif, record.expire_ts
        request = self._core.requests.get(coid)
        if request is not None:
            _, side, _, _, order_type, tif, expire_ts = request
            return side, order_type, tif, expire_ts
        return 0, 0, 0, 0

    def get(self, coid: int) -> OwnOrder | None:
        record = self.open.get(coid)
        if record is not None:
            return self._own(record)
        return next((o for o in self.view() if o.client_order_id == coid), None)

    def _own(self, r: OrderRecord) -> OwnOrder:
        core, coid = self._core, r.client_order_id
        key = core.keys.get(coid)
        pending = requested = None
        if key is not None:
            pending = _PENDING.get(key.queued) or _PENDING.get(key.inflight)
            if key.queued == ec.SLOT_REPLACE:
                _, _, price, qty, *_ = core.requests[coid]
                requested = (price, qty)
            elif key.inflight == ec.SLOT_REPLACE and (state := core.orders.get(coid)) and state.requested_qty:
                requested = (self._sent_price.get(coid, r.price), state.requested_qty)
        return OwnOrder(
            r.client_order_id,
            r.instrument,
            r.side,
            r.price,
            r.qty,
            r.filled,
            r.status,
            pending,
            self._tracker.position(r.client_order_id),
            r.order_type,
            requested,
        )
