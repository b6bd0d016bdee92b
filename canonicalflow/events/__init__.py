"""Canonical events: flat integer records in four categories, their Arrow form, and boundary checks."""

from canonicalflow.events._arrow import (
    EVENT_SCHEMA,
    LazyEvents,
    check_batch,
    events_of,
    iter_events,
    to_record_batch,
)
from canonicalflow.events._boundary import parse_event
from canonicalflow.events._intent import Command, Intent
from canonicalflow.events._kinds import (
    COMMON_FIELDS,
    FIELDS,
    Category,
    ControlSource,
    EventKind,
    Flag,
    OrderType,
    StopReason,
    TimeInForce,
    category_of,
)
from canonicalflow.events._like import EventLike
from canonicalflow.events._record import FIELD_DOCS, Event
from canonicalflow.events._row import EventRow, EventRows

__all__ = [
    "COMMON_FIELDS",
    "EVENT_SCHEMA",
    "FIELDS",
    "FIELD_DOCS",
    "Category",
    "Command",
    "ControlSource",
    "Event",
    "EventKind",
    "EventLike",
    "EventRow",
    "EventRows",
    "Flag",
    "Intent",
    "LazyEvents",
    "OrderType",
    "StopReason",
    "TimeInForce",
    "category_of",
    "check_batch",
    "events_of",
    "iter_events",
    "parse_event",
    "to_record_batch",
]
