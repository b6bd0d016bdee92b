"""Normalizers: vendor formats to canonical events, streamed in Arrow batches, bad rows quarantined."""

from canonicalflow.data.normalize._binance import (
    DISCONNECTED,
    BinanceLines,
    read_binance_batches,
    read_binance_stream,
)
from canonicalflow.data.normalize._common import Quarantine, Quarantined, event_batch
from canonicalflow.data.normalize._databento import databento_events, read_databento
from canonicalflow.data.normalize._lobster import lobster_date, read_lobster_messages, read_lobster_orderbook
from canonicalflow.data.normalize._lobster_window import with_lobster_window

__all__ = [
    "DISCONNECTED",
    "BinanceLines",
    "Quarantine",
    "Quarantined",
    "databento_events",
    "event_batch",
    "lobster_date",
    "read_binance_batches",
    "read_binance_stream",
    "read_databento",
    "read_lobster_messages",
    "read_lobster_orderbook",
    "with_lobster_window",
]
