"""The venue side: the adapter boundary, the simulated venue, and its latency and fee models.

The simulated venue keeps its own books (`canonicalflow.queue.QueuedBook`), on the venue's clock:
the other side of the wire from the Core's.
"""

from canonicalflow.venue._config import Fees, LatencyConfig, VenueConfig
from canonicalflow.venue._latency import (
    ConstantLatency,
    EmpiricalLatency,
    LatencySample,
    OrderLatency,
    SeededLatency,
    read_latency_file,
)
from canonicalflow.venue._protocol import VenueAdapter
from canonicalflow.venue._simulated_venue import SimulatedVenue, VenueReason, venue_time, venue_times

__all__ = [
    "ConstantLatency",
    "EmpiricalLatency",
    "Fees",
    "LatencyConfig",
    "LatencySample",
    "OrderLatency",
    "SeededLatency",
    "SimulatedVenue",
    "VenueAdapter",
    "VenueConfig",
    "VenueReason",
    "read_latency_file",
    "venue_time",
    "venue_times",
]
