"""A strategy's command, before it is an event: the `Intent`, and the spec's `Command` it carries."""

from __future__ import annotations

from typing import NamedTuple

from canonicalflow._generated.enums import Command

__all__ = ["Command", "Intent"]


class Intent(NamedTuple):
    """What a strategy asks for: one command for one order key. Not an event until risk decides;
    then its fields become a RISK_DECISION's (and, once sent, a DISPATCH's)."""

    intent_id: int
    instrument: int
    client_order_id: int
    command: int  # a `Command`: NEW, REPLACE or CANCEL
    side: int = 0
    price: int = 0
    qty: int = 0
    order_type: int = 0  # OrderType: 0 limit, 1 market
    tif: int = 0  # TimeInForce: 0 GTC
    expire_ts: int = 0  # GTD only: when the venue expires it
