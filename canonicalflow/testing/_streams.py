"""Seeded synthetic event streams that exercise every domain of the Core.

Not market realism: coverage. A stream mixes book and trade updates, control switches, intents
with their risk decisions and dispatches, execution reports that follow them, and a share of
reports the kernels must refuse (unknown orders, late cancels, overfills), all from one seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from canonicalflow._generated import execution_control_kernel as ec
from canonicalflow.config import CoreConfig, Instrument, RateLimit
from canonicalflow.events import Event, EventKind

__all__ = ["synthetic_config", "synthetic_stream"]

_NEW, _REPLACE, _CANCEL = ec.COMMAND_NEW, ec.COMMAND_REPLACE, ec.COMMAND_CANCEL  # Event.command codes
_BOOK_DEPTH = 2_000  # resting venue orders at most, so long streams are stationary
_WORKING_ORDERS = 50  # our working orders, beyond which intents cancel rather than add


def synthetic_config() -> CoreConfig:
    return CoreConfig(
        version="synthetic-1",
        instruments=(
            Instrument(id=1, symbol="SYN1", tick_size="0.01", lot_size="1"),
            Instrument(id=2, symbol="SYN2", tick_size="0.5", lot_size="0.001", multiplier=10),
        ),
        rate_limits=(RateLimit(scope=1, capacity=50, refill_ns=1_000_000),),
    )


def synthetic_stream(seed: int, length: int) -> Iterator[Event]:
    """`length` events with positions 1..length, the same for the same seed on every machine."""
    rng = random.Random(seed)
    clock = 1_700_000_000_000_000_000
    decided: dict[int, tuple[int, int]] = {}  # client order id -> (command, lots) allowed, not yet sent
    inflight: dict[int, tuple[int, int]] = {}  # client order id -> (command, lots) sent, not answered
    live: dict[int, list[int]] = {}  # client order id -> [quantity, filled] of a working order
    key_instrument: dict[int, int] = {}  # client order id -> the instrument its NEW named
    book: dict[int, tuple[int, int, int]] = {}  # venue order id -> instrument, side, lots
    next_coid, next_oid, trade_id = 1, 1, 1
    for position in range(1, length + 1):
        clock += rng.randint(1_000, 2_000_000)
        base = {"position": position, "ts_exchange": clock - rng.randint(0, 50_000), "ts_receive": clock}
        instrument = rng.choice((1, 2))
        roll = rng.random()
        if roll < 0.30:
            bid = rng.randint(9_900, 10_000)
            kind, fields = (
                EventKind.BBO,
                {
                    "bid_price": bid,
                    "bid_qty": rng.randint(1, 50),
                    "ask_price": bid + rng.randint(1, 5),
                    "ask_qty": rng.randint(1, 50),
                },
            )
        elif roll < 0.40:
            kind, fields = (
                EventKind.TRADE,
                {
                    "side": rng.choice((-1, 0, 1)),
                    "price": rng.randint(9_900, 10_005),
                    "qty": rng.randint(1, 20),
                    "trade_id": trade_id,
                },
            )
            trade_id += 1
        elif (roll < 0.55 and len(book) < _BOOK_DEPTH) or not book:
            book[next_oid] = (instrument, rng.choice((-1, 1)), rng.randint(1, 30))
            _, side, lots = book[next_oid]
            kind, fields = (
                EventKind.ORDER_ADD,
                {"order_id": next_oid, "side": side, "price": rng.randint(9_900, 10_005), "qty": lots},
            )
            next_oid += 1
        elif roll < 0.65:
            oid = next(iter(book))  # the oldest resting order: O(1), and the book stays stationary
            instrument, side, lots = book[oid]
            cut = rng.randint(1, lots + 2)  # now and then more than rests: a refusal
            if cut == lots:
                book.pop(oid)
            elif cut < lots:
                book[oid] = (instrument, side, lots - cut)
            kind, fields = (
                rng.choice((EventKind.ORDER_CANCEL, EventKind.ORDER_FILL)),
                {"order_id": oid, "side": side, "qty": cut},
            )
        elif roll < 0.70:
            kind, fields = (
                rng.choice(
                    (
                        EventKind.SESSION_START,
                        EventKind.TRADING_ENABLED,
                        EventKind.TRADING_DISABLED,
                        EventKind.KILL_SWITCH,
                    )
                ),
                {},
            )
            if kind == EventKind.KILL_SWITCH:
                fields = {"engaged": rng.randint(0, 1)}
        elif roll < 0.80:
            kind, fields = _intent(rng, position, decided, inflight, live, next_coid)
            coid = fields["client_order_id"]
            if coid == next_coid:
                next_coid += 1
                key_instrument[coid] = instrument
            if kind == EventKind.DISPATCH:  # sent for the instrument its order was decided on
                instrument = key_instrument[coid]
        else:
            kind, fields = _report(rng, inflight, live, next_coid, trade_id)
            trade_id += 1
        yield Event(kind=int(kind), instrument=instrument, **base, **fields)


def _intent(
    rng: random.Random,
    position: int,
    decided: dict[int, tuple[int, int]],
    inflight: dict[int, tuple[int, int]],
    live: dict[int, list[int]],
    next_coid: int,
) -> tuple[EventKind, dict]:
    """A risk decision for a new command, or the dispatch of one decided earlier."""
    ready = sorted(set(decided) - set(inflight))
    if ready and rng.random() < 0.6:
        coid = rng.choice(ready)
        command, lots = decided[coid]
        if rng.random() < 0.05:
            lots += 1  # now and then a dispatch that disagrees with its decision: a refusal
        else:
            inflight[coid] = decided.pop(coid)
        return EventKind.DISPATCH, {
            "intent_id": position,
            "client_order_id": coid,
            "command": command,
            "side": 1,
            "price": 10_000,
            "qty": lots,
        }
    targets = sorted(set(live) - set(decided) - set(inflight))
    if targets and len(live) > _WORKING_ORDERS:
        coid, command = rng.choice(targets), _CANCEL  # cancel down, so long streams are stationary
    elif targets and rng.random() < 0.5:
        coid, command = rng.choice(targets), rng.choice((_REPLACE, _CANCEL))
    else:
        coid, command = next_coid, _NEW
    allowed = int(rng.random() < 0.9)
    lots = 0 if command == _CANCEL else rng.randint(1, 10)
    if allowed:
        decided[coid] = (command, lots)
    fields = {
        "intent_id": position,
        "client_order_id": coid,
        "command": command,
        "allowed": allowed,
        "reason": 0 if allowed else rng.randint(1, 5),
        "side": 1,
        "price": 10_000,
        "qty": lots,
    }
    return EventKind.RISK_DECISION, fields


def _report(
    rng: random.Random,
    inflight: dict[int, tuple[int, int]],
    live: dict[int, list[int]],
    next_coid: int,
    trade_id: int,
) -> tuple[EventKind, dict]:
    """The venue's answer to a request in flight, a fill, or (one time in ten) a stray report.

    `live` holds each acknowledged working order's [quantity, filled], as the Core will see it.
    """
    if rng.random() < 0.1 or not (inflight or live):
        kind = rng.choice((EventKind.FILL, EventKind.CANCEL_ACK, EventKind.ACK))
        coid = next_coid + 1_000  # an order never sent
        if live and kind != EventKind.FILL and rng.random() < 0.5:
            coid = rng.choice(sorted(live))  # acknowledged already, and nothing to cancel
        return kind, {"client_order_id": coid, "qty": 1, "trade_id": trade_id, "side": 1, "price": 10_000}
    if inflight and (not live or rng.random() < 0.5):
        coid = rng.choice(sorted(inflight))
        command, lots = inflight.pop(coid)
        if command == _NEW:
            if rng.random() < 0.9:
                live[coid] = [lots, 0]
                return EventKind.ACK, {"client_order_id": coid}
            return EventKind.REJECT, {"client_order_id": coid, "reason": 1}
        if command == _CANCEL:
            if coid in live and rng.random() < 0.8:
                live.pop(coid, None)
                return EventKind.CANCEL_ACK, {"client_order_id": coid}
            return EventKind.CANCEL_REJECT, {"client_order_id": coid, "reason": 1}
        if coid in live and rng.random() < 0.7:
            if lots <= live[coid][1]:
                live.pop(coid)  # replaced at or below what has filled: the order is filled
            else:
                live[coid][0] = lots
            return EventKind.REPLACE_ACK, {"client_order_id": coid, "price": 10_000, "qty": lots}
        return EventKind.REPLACE_REJECT, {"client_order_id": coid, "reason": 1}
    coid = rng.choice(sorted(live))
    qty, filled = live[coid]
    lots = rng.randint(1, min(4, qty - filled))
    fields = {"client_order_id": coid, "qty": lots, "trade_id": trade_id, "side": 1, "price": 10_000}
    if rng.random() < 0.05:
        return EventKind.TRADE_BUST, fields  # a bust of a trade id never filled: a refusal
    fields |= {"liquidity": rng.choice((1, 2)), "fee": rng.randint(-5, 20)}
    live[coid][1] += lots
    if live[coid][1] == qty:
        live.pop(coid)
    return EventKind.FILL, fields
