"""The flat event record: one immutable tuple of integers, the same for every kind.

Prices are in ticks, quantities in lots, money in minimal currency units, times in integer
nanoseconds. A kind uses the fields listed for it in `FIELDS`; the others stay 0. The hot path
reads these tuples (or Arrow columns) without validating them again.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["FIELD_DOCS", "Event"]


class Event(NamedTuple):
    position: int = 0
    kind: int = 0
    ts_exchange: int = 0
    ts_receive: int = 0
    instrument: int = 0
    flags: int = 0
    sequence: int = 0
    order_id: int = 0
    client_order_id: int = 0
    intent_id: int = 0
    side: int = 0
    price: int = 0
    qty: int = 0
    bid_price: int = 0
    bid_qty: int = 0
    ask_price: int = 0
    ask_qty: int = 0
    trade_id: int = 0
    liquidity: int = 0
    fee: int = 0
    reason: int = 0
    command: int = 0
    allowed: int = 0
    scope: int = 0
    tokens: int = 0
    engaged: int = 0
    config_id: int = 0
    gap_to: int = 0
    checkpoint_id: int = 0
    due_ts: int = 0
    order_type: int = 0
    tif: int = 0
    expire_ts: int = 0

    def record(self) -> Event:
        """The event itself, as `EventRow.record()` gives a row's: code written for either calls it."""
        return self


FIELD_DOCS: dict[str, str] = {
    "position": "stream position: strictly increasing, the only causal order",
    "kind": "EventKind code",
    "ts_exchange": "event time at the venue, integer ns since the epoch",
    "ts_receive": "time we received it, integer ns since the epoch",
    "instrument": "instrument id from the Configuration",
    "flags": "Flag bits: last in packet, snapshot, bad receive timestamp",
    "sequence": "the venue's sequence number (market data), 0 when none",
    "order_id": "the venue's order id",
    "client_order_id": "our order id",
    "intent_id": "the strategy intent a decision or dispatch belongs to",
    "side": "+1 buy / bid, -1 sell / ask, 0 unknown (a trade's aggressor)",
    "price": "price in ticks",
    "qty": "quantity in lots",
    "bid_price": "best bid in ticks",
    "bid_qty": "lots at the best bid",
    "ask_price": "best ask in ticks",
    "ask_qty": "lots at the best ask",
    "trade_id": "the venue's trade id",
    "liquidity": "0 unknown, 1 maker, 2 taker",
    "fee": "fee in minimal currency units; a rebate is negative",
    "reason": "a stable reason code (risk, reject, wake-up)",
    "command": "1 NEW, 2 REPLACE, 3 CANCEL",
    "allowed": "1 when risk allowed the intent, 0 when it denied it",
    "scope": "the rate-limit scope a token came from",
    "tokens": "tokens consumed",
    "engaged": "1 when the kill switch engages, 0 when it releases",
    "config_id": "the version of the Configuration now in force",
    "gap_to": "a feed gap's last missing sequence number (the first is `sequence`)",
    "checkpoint_id": "the checkpoint's id",
    "due_ts": "when a control-time obligation fell due, integer ns",
    "order_type": "0 limit, 1 market",
    "tif": "time in force: 0 GTC, 1 IOC, 2 FOK, 3 post-only, 4 GTD, 5 DAY",
    "expire_ts": "when a GTD order expires at the venue, integer ns (0: never)",
}
