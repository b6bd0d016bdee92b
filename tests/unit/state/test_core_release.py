"""Final orders are released after a retention window, so State stays bounded; requests are checked."""

from __future__ import annotations

import json

import pytest

from canonicalflow._generated import execution_control_kernel as ec
from canonicalflow.errors import InvariantViolation
from canonicalflow.events import Event, EventKind
from canonicalflow.state import Core, Reader
from canonicalflow.testing import synthetic_config, synthetic_stream


def _filled_order(core: Core, coid: int, position: int, lots: int = 3) -> int:
    """Decide, dispatch, acknowledge and fill one order; return the next free position."""
    for kind, fields in (
        (EventKind.RISK_DECISION, {"command": 1, "allowed": 1, "side": 1, "price": 100, "qty": lots}),
        (EventKind.DISPATCH, {"command": 1, "side": 1, "price": 100, "qty": lots}),
        (EventKind.ACK, {}),
        (EventKind.FILL, {"qty": lots, "trade_id": coid}),
    ):
        core.apply(Event(position=position, kind=int(kind), instrument=1, client_order_id=coid, **fields))
        position += 1
    return position


def _allowed(position: int, coid: int, command: int, qty: int) -> Event:
    """Risk allowed `command` for `coid`: a buy of `qty` lots at 100, one intent per position."""
    return Event(
        position=position,
        kind=int(EventKind.RISK_DECISION),
        instrument=1,
        intent_id=position,  # each decision is for its own intent: State refuses an intent id still open
        client_order_id=coid,
        command=command,
        allowed=1,
        side=1 if qty else 0,
        price=100 if qty else 0,
        qty=qty,
    )


def test_the_oldest_final_order_is_released_beyond_the_window() -> None:
    core = Core(synthetic_config().model_copy(update={"retained_final_orders": 2}))
    position = 1
    for coid in (1, 2, 3):
        position = _filled_order(core, coid, position)
    assert sorted(core.execution.orders) == [2, 3] and list(core.execution.final_orders) == [2, 3]
    assert (
        1 not in core.execution.keys
        and 1 not in core.execution.order_fills
        and 1 not in core.execution.key_instrument
    )
    late = core.apply(Event(position=position, kind=int(EventKind.TRADE_BUST), client_order_id=1, trade_id=1))
    assert late.rejections == (("rejected", "order", 1, "unknown_order"),)


def test_a_bust_inside_the_window_reopens_the_order_and_takes_it_off_the_release_line() -> None:
    core = Core(synthetic_config().model_copy(update={"retained_final_orders": 1}))
    position = _filled_order(core, 1, 1)
    result = core.apply(
        Event(position=position, kind=int(EventKind.TRADE_BUST), client_order_id=1, trade_id=1)
    )
    assert result.rejections == ()
    assert core.execution.keys[1].live and 1 not in core.execution.final_orders
    position = _filled_order(core, 2, position + 1)
    assert 1 in core.execution.orders  # a working order is never released


def test_a_final_order_with_a_request_in_flight_waits_for_its_answer() -> None:
    core = Core(synthetic_config().model_copy(update={"retained_final_orders": 0}))
    position = 1
    for kind, fields in (
        (EventKind.RISK_DECISION, {"command": 1, "allowed": 1, "side": 1, "price": 100, "qty": 2}),
        (EventKind.DISPATCH, {"command": 1, "side": 1, "price": 100, "qty": 2}),
        (EventKind.ACK, {}),
        (EventKind.RISK_DECISION, {"command": 3, "allowed": 1}),
        (EventKind.DISPATCH, {"command": 3}),
        (EventKind.FILL, {"qty": 2, "trade_id": 1}),  # filled while the cancel is in flight
    ):
        core.apply(Event(position=position, kind=int(kind), instrument=1, client_order_id=5, **fields))
        position += 1
    assert 5 in core.execution.orders and list(core.execution.final_orders) == [5]
    answer = core.apply(
        Event(position=position, kind=int(EventKind.CANCEL_REJECT), instrument=1, client_order_id=5)
    )
    assert answer.rejections == ()
    assert answer.changes[-1] == ("released", 5)
    assert 5 not in core.execution.orders and 5 not in core.execution.keys and not core.execution.final_orders


def test_a_new_withdrawn_before_dispatch_leaves_nothing_behind() -> None:
    core = Core(synthetic_config())
    core.apply(_allowed(1, coid=9, command=1, qty=1))
    core.apply(_allowed(2, coid=9, command=3, qty=0))
    assert (
        9 not in core.execution.keys
        and 9 not in core.execution.key_instrument
        and 9 not in core.execution.requests
    )
    # both intents closed: the CANCEL took the queued NEW away, and itself with it
    assert core.execution.intents == {}


def test_a_dispatch_must_carry_what_risk_allowed() -> None:
    core = Core(synthetic_config())
    core.apply(_allowed(1, coid=4, command=1, qty=2))
    result = core.apply(
        Event(
            position=2,
            kind=int(EventKind.DISPATCH),
            instrument=1,
            client_order_id=4,
            command=1,
            side=1,
            price=101,
            qty=2,
        )
    )
    assert result.rejections == (("rejected", "execution_control", 4, "request_mismatch"),)
    assert 4 not in core.execution.orders and core.execution.keys[4].state == ec.S_QUEUED


def test_state_stays_bounded_on_a_long_stream() -> None:
    config = synthetic_config().model_copy(update={"retained_final_orders": 50})
    core = Core(config)
    for ev in synthetic_stream(11, 60_000):
        core.apply(ev)
    assert len(core.execution.final_orders) <= 50
    assert (
        len(core.execution.orders) < 200
        and len(core.execution.keys) < 200
        and len(core.execution.order_fills) < 200
    )


def test_a_client_order_id_used_again_starts_a_fresh_order_that_is_never_released_while_live() -> None:
    core = Core(synthetic_config().model_copy(update={"retained_final_orders": 0}))
    position = _filled_order(core, 1, 1)  # released at once: the window is empty
    position = _filled_order(core, 2, position)
    for kind, fields in (
        (EventKind.RISK_DECISION, {"command": 1, "allowed": 1, "side": 1, "price": 100, "qty": 4}),
        (EventKind.DISPATCH, {"command": 1, "side": 1, "price": 100, "qty": 4}),
        (EventKind.ACK, {}),
    ):
        core.apply(Event(position=position, kind=int(kind), instrument=1, client_order_id=2, **fields))
        position += 1
    position = _filled_order(core, 3, position)  # another order goes final: releasing runs again
    assert 2 in core.execution.orders and core.execution.keys[2].live and 2 not in core.execution.final_orders


def test_a_refused_command_names_no_instrument() -> None:
    core = Core(synthetic_config())
    core.apply(
        Event(
            position=1,
            kind=int(EventKind.RISK_DECISION),
            instrument=2,
            client_order_id=5,
            command=3,
            allowed=1,
        )
    )
    assert 5 not in core.execution.key_instrument  # a CANCEL for nothing: refused, and State did not grow
    core.apply(_allowed(2, coid=5, command=1, qty=1))
    assert core.execution.key_instrument[5] == 1 and core.scopes(5) == [1]


def test_an_order_for_an_instrument_with_no_book_is_refused_before_anything_moves() -> None:
    """Risk denies these; a foreign journal may still say "allowed": State refuses it as a value,
    and a DISPATCH naming another instrument than its key's is refused too, so no report can
    later reach for a book that does not exist."""
    core = Core(synthetic_config())  # instruments 1 and 2
    unknown = _allowed(1, coid=7, command=1, qty=2)._replace(instrument=99)
    assert core.apply(unknown).rejections == (("rejected", "execution_control", 7, "unknown_instrument"),)
    assert 7 not in core.execution.keys and core.execution.intents == {}
    core.apply(_allowed(2, coid=8, command=1, qty=2))
    terms = dict(command=1, side=1, price=100, qty=2)
    elsewhere = Event(position=3, kind=int(EventKind.DISPATCH), instrument=2, client_order_id=8, **terms)
    assert core.apply(elsewhere).rejections == (("rejected", "execution_control", 8, "instrument_mismatch"),)
    assert 8 not in core.execution.orders
    sent = elsewhere._replace(position=4, instrument=1)
    assert core.apply(sent).rejections == ()
    assert core.execution.terms[8].instrument == 1


def test_queued_orders_read_the_same_after_a_checkpoint_restores_them() -> None:
    """A strategy may pick its own ids, out of order: the Reader lists what State holds in one
    order, whether State was built event by event or restored from its snapshot."""
    config = synthetic_config()
    core = Core(config)
    core.apply(_allowed(1, coid=9, command=1, qty=1))
    core.apply(_allowed(2, coid=3, command=1, qty=1))
    restored = Core.restore(config, json.loads(json.dumps(core.snapshot())))
    listed = [[o.client_order_id for o in Reader(c).orders()] for c in (core, restored)]
    assert listed == [[3, 9], [3, 9]]


def test_a_decision_that_halts_on_the_two_machines_disagreeing_changes_nothing() -> None:
    """A NEW, a REPLACE queued behind it, then a NEW reusing the first intent's id: execution
    control takes the slot for it, the intent machine still holds the REPLACE's intent pending.
    State halts on `intent_holds_its_slot`, and every step already taken is undone."""
    core = Core(synthetic_config())
    core.apply(_allowed(1, coid=1, command=1, qty=1)._replace(intent_id=1))
    core.apply(_allowed(2, coid=1, command=2, qty=1)._replace(intent_id=2))
    before = core.snapshot()
    with pytest.raises(InvariantViolation, match="intent_holds_its_slot") as halted:
        core.apply(_allowed(3, coid=1, command=1, qty=1)._replace(intent_id=1))
    assert halted.value.position == 3
    assert core.snapshot() == before
