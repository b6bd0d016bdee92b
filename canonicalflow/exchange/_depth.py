"""The local exchange's own depth book, in the venue's decimal strings, for its REST snapshots.

It is the venue's side of the wire: it applies every diff it streams, in the order it streams
them, and answers a snapshot request with the levels and the `lastUpdateId` of the last diff
sent, so a client that buffers the stream and asks for a snapshot can bridge it exactly as it
would on Binance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from canonicalflow.exchange._capture import Capture, Message

__all__ = ["DepthBook"]


class DepthBook:
    """Price -> quantity per side, as strings; the last update id and event time applied."""

    def __init__(self, capture: Capture) -> None:
        self.market = capture.market
        self.symbol = capture.symbol
        snapshot = capture.snapshot
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self._set(self.bids, snapshot["bids"])
        self._set(self.asks, snapshot["asks"])
        self.update_id: int = snapshot["lastUpdateId"]
        self.event_time: int = snapshot.get("E", 0)
        self._extra = {k: snapshot[k] for k in ("symbol", "pair") if k in snapshot}  # COIN-M names both

    def apply(self, message: Message) -> None:
        """A streamed depth diff: each level set to its quantity, a zero quantity removes it."""
        self._set(self.bids, message.bids)
        self._set(self.asks, message.asks)
        self.update_id = message.last
        self.event_time = message.event_time or self.event_time

    def snapshot(self, limit: int) -> dict[str, Any]:
        """The REST depth response: the best `limit` levels a side, in the market's own shape."""
        bids = sorted(self.bids.items(), key=lambda level: Decimal(level[0]), reverse=True)[:limit]
        asks = sorted(self.asks.items(), key=lambda level: Decimal(level[0]))[:limit]
        body: dict[str, Any] = {"lastUpdateId": self.update_id}
        if self.market != "spot":  # futures answer with the message and transaction times
            body |= {"E": self.event_time, "T": self.event_time} | self._extra
        return body | {"bids": [list(b) for b in bids], "asks": [list(a) for a in asks]}

    @staticmethod
    def _set(side: dict[str, str], levels: Any) -> None:
        for price, qty in levels:
            if Decimal(qty) == 0:
                side.pop(price, None)
            else:
                side[price] = qty
