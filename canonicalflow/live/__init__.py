"""The live runtime's adapters: market data from a venue's public protocol, as canonical events.

The only code here with a wall clock, sockets and tasks. Frames are stamped on arrival and read by
the same normalizers as recorded captures, so live and recorded data make the same events."""

from canonicalflow.live._binance_feed import BinanceFeed, FeedInstrument

__all__ = ["BinanceFeed", "FeedInstrument"]
