"""Every order a run sent, for the orders table: what State knew of it as its reports came in.

An output, not State: State releases final orders to stay bounded; the log keeps them all. It
hears each recorded event after the Core applied it and reads the order's progress from State.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from canonicalflow.events import Command, Event, EventKind
from canonicalflow.state import Core

__all__ = ["OrderLog", "OrderRecord"]

_K = EventKind


@dataclass
class OrderRecord:
    """One order's life."""

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


class OrderLog:
    """`records`: every order sent, in the order sent; `record(coid)`: the latest under an id."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.records: list[OrderRecord] = []
        self._open: dict[int, OrderRecord] = {}  # client order id -> a sent order not yet final
        self._known: dict[int, OrderRecord] = {}  # client order id -> its latest order

    def apply(self, ev: Event) -> None:
        kind = ev.kind
        if kind == _K.DISPATCH:
            self._dispatched(ev)
        elif 20 <= kind < 40 and (record := self._known.get(ev.client_order_id)) is not None:
            self._reported(record, ev)  # a final one too: a bust or correction can re-open it

    def record(self, coid: int) -> OrderRecord | None:
        return self._known.get(coid)

    def _dispatched(self, ev: Event) -> None:
        coid = ev.client_order_id
        if ev.reason or self._core.in_flight(coid) != ev.command:
            return  # withdrawn, refused or dropped: nothing went to the venue
        if ev.command == Command.NEW:
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
            self._open[coid] = self._known[coid] = record
        elif ev.command == Command.REPLACE and coid in self._open:
            self._open[coid].replaces += 1

    def _reported(self, record: OrderRecord, ev: Event) -> None:
        kind, coid, execution = ev.kind, record.client_order_id, self._core.execution
        if kind == _K.ACK:
            record.acked_ts, record.price, record.qty = ev.ts_receive, ev.price, ev.qty
            place = self._core.market.place(record.instrument, coid)
            record.queue_ahead_at_ack = place.lots.ahead if place else math.nan
        elif kind == _K.REPLACE_ACK:
            record.price, record.qty = ev.price, ev.qty
        elif kind == _K.REJECT:
            record.reject_reason = ev.reason
        if coid not in execution.orders:
            return
        record.status = execution.status(coid)
        record.filled = execution.orders[coid].cum
        if execution.is_final(coid):
            record.final_ts = record.final_ts or ev.ts_receive
            self._open.pop(coid, None)
        elif coid not in self._open:  # re-opened by a bust or a correction: it works again
            record.final_ts = 0
            self._open[coid] = record
