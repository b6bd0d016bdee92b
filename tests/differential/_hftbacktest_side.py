"""The hftbacktest 2.4.4 side of the venue's differential test: the same events and script, its fills.

hftbacktest is the reference the simulated venue is compared against, so this module drives it as
plainly as its own examples do, and changes nothing about how it simulates:

* Canonical events become hftbacktest's event rows with tick size 1 and lot size 1: a price is its
  tick count and a quantity its lot count as floats, so every float sum and comparison inside
  hftbacktest is exact integer arithmetic.
* A row's exchange time is the event's venue time (`ts_exchange`, or `ts_receive` when the exchange
  gave none, the rule the venue uses) and its local time is `ts_receive`. The local clock is NOT
  shifted by `correct_local_timestamp`: both engines must see the same two clocks, and the scripted
  orders are stamped in receive time.
* hftbacktest's own `correct_event_order` splits and merges the rows so that the exchange processor
  sees them in (venue time, file order) and the local processor in (receive time, file order).
* The backtest is `NoPartialFillExchange`, a constant order latency, a linear asset and no fees. The
  script is replayed in an njit loop: advance exactly to the action's local time (events stamped at
  that very time are processed first), then submit or cancel. After the last action it runs to the
  end of the data, so every response in flight arrives.

Without partial fills an order fills at most once and in full, so its final local record (status,
exchange time of the fill, executed price and quantity, maker flag) is its whole execution history;
the runner checks that against hftbacktest's own trade counters so no fill can go unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
from hftbacktest import (
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    SELL_EVENT,
    TRADE_EVENT,
    BacktestAsset,
    HashMapMarketDepthBacktest,
)
from hftbacktest.data.validation import correct_event_order, validate_event_order
from hftbacktest.types import event_dtype
from numba import njit

from canonicalflow.events import Event, EventKind, Flag

from ._script import ScriptedFill, ScriptedOrder

__all__ = [
    "STATUS_NAMES",
    "TIF_CODES",
    "HftResult",
    "order_rows",
    "run_hftbacktest",
    "run_rows",
    "to_rows",
]

# hftbacktest.order's codes: TimeInForce and Status (Status::Replaced is 7 in the Rust enum).
TIF_CODES: dict[str, int] = {"GTC": 0, "GTX": 1, "FOK": 2, "IOC": 3}
STATUS_NAMES: dict[int, str] = {
    0: "NONE",
    1: "NEW",
    2: "EXPIRED",
    3: "FILLED",
    4: "CANCELED",
    5: "PARTIALLY_FILLED",
    6: "REJECTED",
    7: "REPLACED",
}
_LIMIT = 0  # hftbacktest.order.LIMIT
_FILLED = 3
# The codes of hftbacktest's Python binding (py-hftbacktest's handle_result): 0 ok, 1 end of data.
_ERRORS = {
    10: "OrderIdExist",
    11: "OrderRequestInProcess",
    12: "OrderNotFound",
    13: "InvalidOrderRequest",
    14: "InvalidOrderStatus",
    15: "EndOfData (as an error)",
    100: "DataError",
}
_TOO_EARLY = -1  # our own codes: an action stamped before the backtest's clock,
_TOO_LATE = -2  # or at or after its last event, where elapse stops the clock without reaching it


class HftResult(NamedTuple):
    """What hftbacktest did with a script: every fill, and each order's final status name."""

    fills: list[ScriptedFill]
    status: dict[int, str]


# --------------------------------------------------------------------------------- the data
def to_rows(events: Iterable[Event]) -> np.ndarray:
    """hftbacktest event rows for the canonical events, in stream order, before any reordering.

    LEVEL_SET becomes a depth row (a depth-snapshot row when flagged SNAPSHOT; hftbacktest applies
    both the same way), BOOK_CLEAR a side-less depth-clear row (clears both sides, as the canonical
    event does), TRADE a trade row flagged with the aggressor's side (BUY_EVENT: the buyer took).
    A trade whose aggressor is unknown (side 0) gets no side flag, so hftbacktest matches nothing
    against it. BBO, snapshot markers and FEED_GAP carry nothing hftbacktest's L2 book needs and
    are skipped.
    """
    level_set, clear, trade = int(EventKind.LEVEL_SET), int(EventKind.BOOK_CLEAR), int(EventKind.TRADE)
    snapshot = int(Flag.SNAPSHOT)
    ev: list[int] = []
    exch_ts: list[int] = []
    local_ts: list[int] = []
    px: list[int] = []
    qty: list[int] = []
    for e in events:
        kind = e.kind
        if kind == level_set:
            code = DEPTH_SNAPSHOT_EVENT if e.flags & snapshot else DEPTH_EVENT
            code |= BUY_EVENT if e.side > 0 else SELL_EVENT
        elif kind == trade:
            code = TRADE_EVENT | (BUY_EVENT if e.side > 0 else SELL_EVENT if e.side < 0 else 0)
        elif kind == clear:
            code = DEPTH_CLEAR_EVENT
        else:
            continue
        ev.append(code)
        exch_ts.append(e.ts_exchange if e.ts_exchange > 0 else e.ts_receive)
        local_ts.append(e.ts_receive)
        px.append(e.price)
        qty.append(e.qty)
    rows = np.zeros(len(ev), event_dtype)
    rows["ev"] = np.asarray(ev, np.uint64)
    rows["exch_ts"] = np.asarray(exch_ts, np.int64)
    rows["local_ts"] = np.asarray(local_ts, np.int64)
    rows["px"] = np.asarray(px, np.float64)
    rows["qty"] = np.asarray(qty, np.float64)
    return rows


def order_rows(rows: np.ndarray) -> np.ndarray:
    """The rows as hftbacktest wants them, by its own `correct_event_order`, validated.

    Each processor reads only the rows flagged for it: EXCH_EVENT rows in exchange-time order and
    LOCAL_EVENT rows in local-time order, ties in stream order (stable mergesort indices). A row
    whose place agrees in both orders is kept once with both flags; the others are duplicated.
    The index arrays get one spare element because `correct_event_order` reads one index past the
    end (unchecked, under numba) before it tests its bounds.
    """
    if len(rows) == 0:
        return rows
    spare = np.zeros(1, np.int64)
    by_exch = np.concatenate([np.argsort(rows["exch_ts"], kind="mergesort"), spare])
    by_local = np.concatenate([np.argsort(rows["local_ts"], kind="mergesort"), spare])
    ordered = correct_event_order(rows, by_exch, by_local)
    validate_event_order(ordered)
    return ordered


# ---------------------------------------------------------------------------- the backtest
def _queue_model(spec: str) -> Callable[[Any], Any]:
    """The asset-builder call for a queue model named "conservative", "power:N", "power2:N",
    "power3:N", "log" or "log2"."""
    name, _, arg = spec.partition(":")
    if name == "conservative" and not arg:
        return lambda asset: asset.risk_adverse_queue_model()
    if name in ("log", "log2") and not arg:
        method = "log_prob_queue_model" if name == "log" else "log_prob_queue_model2"
        return lambda asset: getattr(asset, method)()
    methods = {
        "power": "power_prob_queue_model",
        "power2": "power_prob_queue_model2",
        "power3": "power_prob_queue_model3",
    }
    if name in methods and arg:
        n = float(arg)
        return lambda asset: getattr(asset, methods[name])(n)
    raise ValueError(f"unknown queue model {spec!r}: conservative, power:N, power2:N, power3:N, log, log2")


@njit(cache=False)
def _replay(  # pragma: no cover - compiled by numba
    hbt: Any,
    ts: np.ndarray,
    is_cancel: np.ndarray,
    oid: np.ndarray,
    side: np.ndarray,
    price: np.ndarray,
    qty: np.ndarray,
    tif: np.ndarray,
    rc: np.ndarray,
    before: np.ndarray,
    order_ids: np.ndarray,
    out: np.ndarray,
) -> tuple[int, int, float]:
    """Replay the actions in numba; `rc` gets each call's code (the first nonzero one stops the
    replay), `before` the order's local status just before the call (-1: unknown), `out` each
    order's final local record: status, exchange time, executed price tick, executed qty, maker,
    present (1/0).

    Returns the code of the final run to the end of the data, and the local state's fill count and
    volume. (No numba cache: hftbacktest's jitclasses hold ctypes pointers, which numba cannot cache.)
    """
    hbt.elapse(0)  # starts the clock at the first event of any stream, processing that instant
    for i in range(len(ts)):
        now = hbt.current_timestamp
        if ts[i] < now:
            rc[i] = -1
        elif ts[i] > now:
            rc[i] = hbt.elapse(ts[i] - now)
            if rc[i] == 1:  # end of data is no error, but then the clock may have stopped short
                rc[i] = 0 if hbt.current_timestamp == ts[i] else -2
        if rc[i] != 0:
            return rc[i], 0, 0.0
        known = hbt.orders(0).get(oid[i])
        before[i] = -1 if known is None else known.status
        if is_cancel[i]:
            rc[i] = hbt.cancel(0, oid[i], False)
        elif side[i] > 0:
            rc[i] = hbt.submit_buy_order(0, oid[i], price[i], qty[i], tif[i], _LIMIT, False)
        else:
            rc[i] = hbt.submit_sell_order(0, oid[i], price[i], qty[i], tif[i], _LIMIT, False)
        if rc[i] != 0:
            return rc[i], 0, 0.0
    end = hbt._goto_end()
    orders = hbt.orders(0)
    for j in range(len(order_ids)):
        order = orders.get(order_ids[j])
        if order is not None:
            out[j, 0] = order.status
            out[j, 1] = order.exch_timestamp
            out[j, 2] = order.exec_price_tick
            out[j, 3] = round(order.exec_qty)
            out[j, 4] = 1 if order.arr[0].maker else 0
            out[j, 5] = 1
    values = hbt.state_values(0)  # hftbacktest's own count of our fills, to check none went unseen
    return end, values.num_trades, values.trading_volume


def run_rows(
    rows: np.ndarray,
    script: Sequence[ScriptedOrder],
    *,
    queue_model: str,
    entry_ns: int,
    response_ns: int,
) -> HftResult:
    """Replay `script` on rows already ordered by `order_rows` (synthetic tests call this directly)."""
    add_queue_model = _queue_model(queue_model)
    actions = sorted(script, key=lambda a: a.local_ts)  # stable: same-time actions keep their order
    for a in actions:
        if a.action not in ("new", "cancel"):
            raise ValueError(f"unknown action {a.action!r} for order {a.order_id}")
        if a.action == "new" and (a.side not in (1, -1) or a.tif not in TIF_CODES or a.qty <= 0):
            raise ValueError(f"bad new order {a}")
    n = len(actions)
    ts = np.array([a.local_ts for a in actions], np.int64)
    is_cancel = np.array([a.action == "cancel" for a in actions], np.bool_)
    oid = np.array([a.order_id for a in actions], np.uint64)
    side = np.array([a.side for a in actions], np.int64)
    price = np.array([a.price for a in actions], np.float64)
    qty = np.array([a.qty for a in actions], np.float64)
    tif = np.array([TIF_CODES.get(a.tif, 0) for a in actions], np.uint8)
    order_ids = sorted({a.order_id for a in actions if a.action == "new"})
    ids = np.array(order_ids, np.uint64)
    rc = np.zeros(n, np.int64)
    before = np.full(n, -1, np.int64)
    out = np.zeros((len(order_ids), 6), np.int64)

    data = np.ascontiguousarray(rows)  # kept alive here: the asset reads it through a pointer
    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(entry_ns, response_ns)
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(1.0)
        .lot_size(1.0)
    )
    asset = add_queue_model(asset)
    hbt = HashMapMarketDepthBacktest([asset])
    try:
        end, num_trades, volume = _replay(
            hbt, ts, is_cancel, oid, side, price, qty, tif, rc, before, ids, out
        )
    finally:
        hbt.close()
    for i, code in enumerate(rc):
        if code != 0:
            what = {
                _TOO_EARLY: "(stamped before the first event of the data)",
                _TOO_LATE: "(stamped at or after the last event, where hftbacktest's clock stops)",
            }.get(int(code), _ERRORS.get(int(code), ""))
            raise RuntimeError(f"hftbacktest refused {actions[i]}: code {code} {what}".rstrip())
    if end not in (0, 1):
        raise RuntimeError(
            f"hftbacktest failed running to the end of the data: code {end} {_ERRORS.get(end, '')}"
        )

    fills: list[ScriptedFill] = []
    status: dict[int, str] = {}
    for j, order_id in enumerate(order_ids):
        code, exch_ts, exec_tick, exec_qty, maker, present = (int(v) for v in out[j])
        if not present:
            status[order_id] = "MISSING"
            continue
        status[order_id] = STATUS_NAMES.get(code, f"STATUS_{code}")
        if code == _FILLED:
            fills.append(ScriptedFill(order_id, exch_ts, exec_tick, exec_qty, bool(maker)))
    fills.sort(key=lambda f: (f.ts_exchange, f.order_id))
    # hftbacktest's local state applies a fill again when a cancel of an order it already knows is
    # filled comes back rejected (the rejection carries the FILLED copy): count those twice too.
    lots = {f.order_id: f.qty for f in fills}
    again = [actions[i].order_id for i in range(n) if is_cancel[i] and before[i] == _FILLED]
    want_trades = len(fills) + len(again)
    want_volume = sum(lots.values()) + sum(lots.get(order_id, 0) for order_id in again)
    if num_trades != want_trades or round(volume) != want_volume:
        raise RuntimeError(
            f"hftbacktest counted {num_trades} fills of {volume} lots, the orders show "
            f"{want_trades} of {want_volume}: a fill went unseen"
        )
    return HftResult(fills, status)


def run_hftbacktest(
    events: Iterable[Event],
    script: Sequence[ScriptedOrder],
    *,
    queue_model: str,
    entry_ns: int,
    response_ns: int,
) -> HftResult:
    """hftbacktest's fills for `script` on `events` (see the module docstring for every choice).

    `queue_model`: "conservative" (risk-adverse), "power:N", "power2:N", "power3:N", "log", "log2".
    """
    rows = order_rows(to_rows(events))
    return run_rows(rows, script, queue_model=queue_model, entry_ns=entry_ns, response_ns=response_ns)
