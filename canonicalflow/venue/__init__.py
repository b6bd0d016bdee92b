"""The venue side: the adapter boundary, the simulated venue, queue and latency models."""

from canonicalflow.venue._config import Fees, LatencyConfig, VenueConfig
from canonicalflow.venue._latency import (
    ConstantLatency,
    EmpiricalLatency,
    OrderLatency,
    SeededLatency,
    read_latency_file,
)
from canonicalflow.venue._market import QueuedBook
from canonicalflow.venue._protocol import VenueAdapter
from canonicalflow.venue._queue_models import (
    QUEUE_MODELS,
    UNITS_PER_LOT,
    ConservativeQueue,
    ProbabilisticQueue,
    QueueModel,
    queue_model,
)
from canonicalflow.venue._queues import QueuePlace, RestingQueues
from canonicalflow.venue._simulated import SimulatedVenue, VenueReason, venue_time, venue_times
from canonicalflow.venue._simulation import MarketBatches, OurLane, Simulation, simulate
from canonicalflow.venue._tracker import QueuePosition, QueueTracker

__all__ = [
    "QUEUE_MODELS",
    "UNITS_PER_LOT",
    "ConservativeQueue",
    "ConstantLatency",
    "EmpiricalLatency",
    "Fees",
    "LatencyConfig",
    "MarketBatches",
    "OrderLatency",
    "OurLane",
    "ProbabilisticQueue",
    "QueueModel",
    "QueuePlace",
    "QueuePosition",
    "QueueTracker",
    "QueuedBook",
    "RestingQueues",
    "SeededLatency",
    "SimulatedVenue",
    "Simulation",
    "VenueAdapter",
    "VenueConfig",
    "VenueReason",
    "queue_model",
    "read_latency_file",
    "simulate",
    "venue_time",
    "venue_times",
]
