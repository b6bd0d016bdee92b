"""Normalizers: vendor formats to canonical events, streamed in Arrow batches, bad rows quarantined."""

from canonicalflow.data.normalize._common import Quarantine, Quarantined, event_batch
from canonicalflow.data.normalize._lobster import lobster_date, read_lobster_messages, read_lobster_orderbook

__all__ = [
    "Quarantine",
    "Quarantined",
    "event_batch",
    "lobster_date",
    "read_lobster_messages",
    "read_lobster_orderbook",
]
