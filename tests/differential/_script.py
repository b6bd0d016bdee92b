"""A scripted order sequence both engines of a differential test replay, and the fills they report."""

from __future__ import annotations

from typing import NamedTuple


class ScriptedOrder(NamedTuple):
    """One request the scripted strategy sends at local time `local_ts` (integer ns)."""

    local_ts: int  # when the strategy sends it: the receive time of a feed event
    action: str  # "new" or "cancel"
    order_id: int
    side: int = 0  # +1 buy, -1 sell
    price: int = 0  # ticks
    qty: int = 0  # lots
    tif: str = "GTC"  # GTC, GTX (post-only), IOC or FOK


class ScriptedFill(NamedTuple):
    """One execution of a scripted order, as the venue reports it."""

    order_id: int
    ts_exchange: int  # when the venue filled it (integer ns)
    price: int  # ticks
    qty: int  # lots
    maker: bool
