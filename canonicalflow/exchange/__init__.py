"""The local exchange: real venue captures served over the venue's own public protocol, on loopback.

It is the other side of the wire for the live runtime's tests and demos: no machine here reaches
a real exchange, so the live feed client, and an independent client (ccxt), are checked against
this server replaying real Binance captures."""

from canonicalflow.exchange._capture import Capture, Message
from canonicalflow.exchange._depth import DepthBook
from canonicalflow.exchange._faults import Faults
from canonicalflow.exchange._server import LocalExchange

__all__ = ["Capture", "DepthBook", "Faults", "LocalExchange", "Message"]
