"""Databento's codes and price units in canonical terms.

Action, side and flag codes, the lookup tables that map them column-wise, and the tick arithmetic:
shared by the MBO core and the DBN and CSV readers, so it sits below all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import databento_dbn as dbn
import pyarrow as pa

from canonicalflow.events import EventKind, Flag

_NANO = 1_000_000_000
_INT64_MAX = (1 << 63) - 1
_UNDEF_PRICE = dbn.UNDEF_PRICE
_LAST = int(Flag.LAST_IN_PACKET)
_ADD, _MODIFY = int(EventKind.ORDER_ADD), int(EventKind.ORDER_MODIFY)
_CANCEL, _FILL = int(EventKind.ORDER_CANCEL), int(EventKind.ORDER_FILL)
_CLEAR, _LEVEL, _TRADE = int(EventKind.BOOK_CLEAR), int(EventKind.LEVEL_SET), int(EventKind.TRADE)

# Databento flag byte -> canonical flags, for all 256 values.
_FLAGS = [
    (_LAST if f & dbn.F_LAST else 0)
    | (int(Flag.SNAPSHOT) if f & dbn.F_SNAPSHOT else 0)
    | (int(Flag.BAD_RECEIVE_TS) if f & dbn.F_BAD_TS_RECV else 0)
    for f in range(256)
]
_SIDES = {"B": 1, "A": -1, "N": 0}
_KIND_OF_ACTION = {"A": _ADD, "C": _CANCEL, "M": _MODIFY, "R": _CLEAR, "T": _TRADE, "F": 0, "N": 0}
_NEEDS_PRICE = "ACMTF"
_ORDER_ACTIONS = "ACM"


def _lookup(values: Mapping[int, int], default: int) -> pa.Array:
    """A 256-entry int64 table for pc.take, indexed by a byte."""
    return pa.array([values.get(byte, default) for byte in range(256)], pa.int64())


_FLAG_TABLE = pa.array(_FLAGS, pa.int64())
_KIND_TABLE = _lookup({ord(a): k for a, k in _KIND_OF_ACTION.items()}, -1)  # -1: not an action
_SIDE_TABLE = _lookup({ord(s): v for s, v in _SIDES.items()}, 9)  # 9: not a side
_F, _C, _A, _M, _R = (ord(a) for a in "FCAMR")
_PRICED = pa.array([ord(a) for a in _NEEDS_PRICE], pa.int64())
_ORDERS = pa.array([ord(a) for a in _ORDER_ACTIONS], pa.int64())


def tick_nanos(tick_size: str) -> int:
    """The tick in Databento's price unit (1e-9): "0.25" -> 250_000_000. ValueError when it is not one."""
    try:
        numerator, denominator = Decimal(tick_size).as_integer_ratio()
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"tick size {tick_size!r} is not a decimal number") from None
    nanos, rest = divmod(numerator * _NANO, denominator)
    if rest or nanos <= 0:
        raise ValueError(
            f"tick size {tick_size!r} is not a positive multiple of 1e-9, Databento's price unit"
        )
    return nanos


def _tick_text(tick: int) -> str:
    """A tick in nanounits as the decimal it stands for: 250_000_000 -> "0.25"."""
    return format(Decimal(tick).scaleb(-9).normalize(), "f")


def price_ticks(price: str, tick: int) -> int | None:
    """A decimal price string in ticks of `tick` nanounits, exactly; None when it falls between ticks."""
    try:
        numerator, denominator = Decimal(price).as_integer_ratio()
    except (InvalidOperation, ValueError):
        return None
    ticks, rest = divmod(numerator * _NANO, denominator * tick)
    return None if rest else ticks
