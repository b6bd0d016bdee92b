"""Event kinds, their four categories, and the fields each kind carries.

Codes are stable: they are stored in journals and datasets. Ranges leave room per category:
market 1-19, execution 20-39, intent-related 40-49, control 50-69.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "COMMON_FIELDS",
    "FIELDS",
    "Category",
    "ControlSource",
    "EventKind",
    "Flag",
    "OrderType",
    "StopReason",
    "TimeInForce",
    "category_of",
]


class Category(IntEnum):
    MARKET = 1
    EXECUTION = 2
    INTENT = 3
    CONTROL = 4


class EventKind(IntEnum):
    # market: the venue's public book and trades
    ORDER_ADD = 1
    ORDER_MODIFY = 2
    ORDER_CANCEL = 3
    ORDER_FILL = 4
    BOOK_CLEAR = 5
    LEVEL_SET = 6
    SNAPSHOT_BEGIN = 7
    SNAPSHOT_END = 8
    TRADE = 9
    BBO = 10
    TRADING_STATUS = 11  # the venue halted, resumed quoting, or resumed trading
    # execution: reports about our own orders
    ACK = 20
    REJECT = 21
    FILL = 22
    CANCEL_ACK = 23
    CANCEL_REJECT = 24
    REPLACE_ACK = 25
    REPLACE_REJECT = 26
    EXPIRED = 27
    DONE_FOR_DAY = 28
    VENUE_CANCEL = 29
    RESTATE = 30
    TRADE_BUST = 31
    TRADE_CORRECT = 32
    # intent-related: the decisions replay must reproduce
    RISK_DECISION = 40
    DISPATCH = 41
    RATE_LIMIT_CONSUMED = 42
    # control
    SESSION_START = 50
    SESSION_STOP = 51
    TRADING_ENABLED = 52
    TRADING_DISABLED = 53
    KILL_SWITCH = 54
    CONFIG_CHANGE = 55
    FEED_GAP = 56
    CHECKPOINT = 57
    WAKEUP = 58


class StopReason(IntEnum):
    """Why a session stopped: the `reason` of its SESSION_STOP."""

    REQUESTED = 1  # a signal: Ctrl-C, SIGTERM
    DURATION = 2  # the time it was given ran out
    INPUT_OVERFLOW = 3  # more inputs waited than the bounded queue holds: stopped, never dropped
    OPERATOR = 4  # the operator, through the control API
    FAILED = 5  # an error ended it (the journal keeps everything up to it)


class ControlSource(IntEnum):
    """Who switched trading or the kill switch: the `reason` of those control events."""

    SESSION = 0  # the session itself: its configuration, at the opening
    OPERATOR = 1  # the operator, through the control API


class Flag(IntFlag):
    """Bits of an event's `flags` field."""

    LAST_IN_PACKET = 1  # the venue's packet (or message) ends here; the book is consistent after it
    SNAPSHOT = 2  # part of a snapshot, not an incremental update
    BAD_RECEIVE_TS = 4  # the receive timestamp is known to be unreliable


class OrderType(IntEnum):
    """An order's `order_type` field."""

    LIMIT = 0
    MARKET = 1  # no limit price: takes whatever the book offers


class TimeInForce(IntEnum):
    """An order's `tif` field: how long it may work at the venue."""

    GTC = 0  # until filled or canceled
    IOC = 1  # fill what it can on arrival, cancel the rest
    FOK = 2  # fill entirely on arrival, or not at all
    POST_ONLY = 3  # rest without taking; one that would take is rejected or repriced
    GTD = 4  # until `expire_ts`
    DAY = 5  # until the end of the venue's trading day


def category_of(kind: EventKind) -> Category:
    if kind < 20:
        return Category.MARKET
    if kind < 40:
        return Category.EXECUTION
    if kind < 50:
        return Category.INTENT
    return Category.CONTROL


# Every event carries these: its place in the stream, both timestamps (integer ns), the instrument.
COMMON_FIELDS = ("position", "kind", "ts_exchange", "ts_receive", "instrument", "flags")

# What a request asks the venue for: the order's terms, the same in the decision and the dispatch.
_ORDER_TERMS = ("side", "price", "qty", "order_type", "tif", "expire_ts")

# The fields each kind uses beyond the common ones; every other field of its record is 0.
FIELDS: dict[EventKind, tuple[str, ...]] = {
    EventKind.ORDER_ADD: ("order_id", "side", "price", "qty", "sequence"),
    EventKind.ORDER_MODIFY: ("order_id", "side", "price", "qty", "sequence"),
    EventKind.ORDER_CANCEL: ("order_id", "side", "price", "qty", "sequence"),
    EventKind.ORDER_FILL: ("order_id", "side", "price", "qty", "trade_id", "sequence"),
    EventKind.BOOK_CLEAR: ("sequence",),
    EventKind.LEVEL_SET: ("side", "price", "qty", "sequence"),
    EventKind.SNAPSHOT_BEGIN: ("sequence",),
    EventKind.SNAPSHOT_END: ("sequence",),
    EventKind.TRADE: ("side", "price", "qty", "trade_id", "sequence"),
    EventKind.BBO: ("bid_price", "bid_qty", "ask_price", "ask_qty", "sequence"),
    EventKind.TRADING_STATUS: ("reason", "sequence"),
    EventKind.ACK: ("client_order_id", "order_id", "price", "qty"),
    EventKind.REJECT: ("client_order_id", "reason"),
    EventKind.FILL: ("client_order_id", "side", "price", "qty", "trade_id", "liquidity", "fee"),
    EventKind.CANCEL_ACK: ("client_order_id",),
    EventKind.CANCEL_REJECT: ("client_order_id", "reason"),
    EventKind.REPLACE_ACK: ("client_order_id", "price", "qty"),
    EventKind.REPLACE_REJECT: ("client_order_id", "reason"),
    EventKind.EXPIRED: ("client_order_id",),
    EventKind.DONE_FOR_DAY: ("client_order_id",),
    EventKind.VENUE_CANCEL: ("client_order_id", "reason"),
    EventKind.RESTATE: ("client_order_id", "qty"),
    EventKind.TRADE_BUST: ("client_order_id", "trade_id", "qty"),
    EventKind.TRADE_CORRECT: ("client_order_id", "trade_id", "price", "qty"),
    EventKind.RISK_DECISION: ("intent_id", "client_order_id", "command", "allowed", "reason", *_ORDER_TERMS),
    # `reason` non-zero: risk, checked again, withdrew the queued command instead of sending it
    EventKind.DISPATCH: ("intent_id", "client_order_id", "command", *_ORDER_TERMS, "reason"),
    EventKind.RATE_LIMIT_CONSUMED: ("scope", "tokens"),
    EventKind.SESSION_START: (),
    EventKind.SESSION_STOP: ("reason",),  # a StopReason
    EventKind.TRADING_ENABLED: ("reason",),  # a ControlSource
    EventKind.TRADING_DISABLED: ("reason",),  # a ControlSource
    EventKind.KILL_SWITCH: ("engaged", "reason"),  # reason: a ControlSource
    EventKind.CONFIG_CHANGE: ("config_id",),
    EventKind.FEED_GAP: ("sequence", "gap_to"),
    EventKind.CHECKPOINT: ("checkpoint_id",),
    EventKind.WAKEUP: ("due_ts", "reason"),
}
