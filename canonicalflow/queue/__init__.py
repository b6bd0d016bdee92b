"""Queue places: where our resting orders stand in a price level's queue, and the models that
move them on price-level data (spec/queue_place.cflow)."""

from canonicalflow.queue._book import Fills, QueuedBook
from canonicalflow.queue._models import (
    QUEUE_MODELS,
    UNITS_PER_LOT,
    ConservativeQueue,
    ProbabilisticQueue,
    QueueModel,
    queue_model,
)
from canonicalflow.queue._places import Place, QueuePlace, RestingQueues

__all__ = [
    "QUEUE_MODELS",
    "UNITS_PER_LOT",
    "ConservativeQueue",
    "Fills",
    "Place",
    "ProbabilisticQueue",
    "QueueModel",
    "QueuePlace",
    "QueuedBook",
    "RestingQueues",
    "queue_model",
]
