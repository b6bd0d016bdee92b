"""What a strategy returns: new orders, replaces and cancels, in ticks and lots.

They are requests, not orders: each becomes an intent that risk judges and execution control
queues. A NEW may name its client order id or leave it to the runner, which hands out fresh ones.
"""

from __future__ import annotations

from typing import NamedTuple

from canonicalflow.events import OrderType, TimeInForce

__all__ = ["BUY", "SELL", "Action", "Cancel", "New", "Replace"]

BUY, SELL = 1, -1


class New(NamedTuple):
    side: int  # BUY or SELL
    price: int  # ticks; ignored for a market order
    qty: int  # lots
    instrument: int | None = None  # None: the run's first instrument
    tif: int = TimeInForce.GTC
    order_type: int = OrderType.LIMIT
    expire_ts: int = 0  # GTD only
    client_order_id: int | None = None  # None: the runner picks a fresh one


class Replace(NamedTuple):
    """Move a working order to a new price and size; its side and time in force stay."""

    client_order_id: int
    price: int
    qty: int


class Cancel(NamedTuple):
    client_order_id: int


Action = New | Replace | Cancel
