"""Risk's stable reason codes: the `reason` a RISK_DECISION (or a withdrawn DISPATCH) records.

Codes are stored in journals: never renumber one, only add. docs/concepts/risk.md lists them all,
and a test holds the page and this enum to each other.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["RiskReason"]


class RiskReason(IntEnum):
    ALLOWED = 0
    # gates that leave cancels through
    TRADING_DISABLED = 1
    KILL_SWITCH = 2
    MAX_LOSS = 3
    MAX_DRAWDOWN = 4
    ROLLING_LOSS = 5
    UNMARKED_POSITION = 6
    # parameter validation
    INVALID_INSTRUMENT = 10
    INVALID_COMMAND = 11
    INVALID_SIDE = 12
    INVALID_QTY = 13
    INVALID_PRICE = 14
    INVALID_TIME_IN_FORCE = 15
    MAX_ORDER_QTY = 16
    UNKNOWN_ORDER = 17
    INVALID_ORDER_TYPE = 18
    # normalisation and venue constraints
    QTY_BELOW_LOT = 20
    NO_MID_FOR_MARKET = 21
    POST_ONLY_WOULD_CROSS = 22
    MIN_NOTIONAL = 23
    # exposure
    MAX_INVENTORY = 30
    MAX_SINGLE_ORDER_NOTIONAL = 31
    MAX_GROSS_NOTIONAL = 32
    MAX_ACTIVE_QUOTES = 33
    MAX_GROSS_QUOTE_NOTIONAL = 34
    MAX_NET_QUOTE_NOTIONAL = 35
    # fail closed
    RISK_ERROR = 99
