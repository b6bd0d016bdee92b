"""The Core folds events through the generated kernels; refusals are recorded, violations halt."""

from __future__ import annotations

import json

import pytest

from canonicalflow._generated import execution_control_kernel as ec
from canonicalflow._generated import order_lifecycle_kernel as order
from canonicalflow.book import ASK, BID, L2Book, L3Book
from canonicalflow.config import BookModel
from canonicalflow.errors import InvariantViolation
from canonicalflow.events import Event, EventKind, Flag
from canonicalflow.portfolio import Holding
from canonicalflow.state import Core
from canonicalflow.testing import synthetic_config


def _core_after(*events: Event, book: str = "l2") -> Core:
    """A Core (with order-level books when `book` is "l3") after `events`."""
    core = Core(synthetic_config().model_copy(update={"market": BookModel(book=book)}))
    for ev in events:
        core.apply(ev)
    return core


def _stream(*kinds_and_fields: tuple[EventKind, dict]) -> list[Event]:
    return [
        Event(position=i, kind=int(kind), instrument=1, **fields)
        for i, (kind, fields) in enumerate(kinds_and_fields, 1)
    ]


NEW_ORDER = [
    (
        EventKind.RISK_DECISION,
        {
            "intent_id": 1,
            "client_order_id": 7,
            "command": 1,
            "allowed": 1,
            "side": 1,
            "price": 100,
            "qty": 10,
        },
    ),
    (
        EventKind.DISPATCH,
        {"intent_id": 1, "client_order_id": 7, "command": 1, "side": 1, "price": 100, "qty": 10},
    ),
    (EventKind.ACK, {"client_order_id": 7, "order_id": 99}),
]


def test_a_dispatched_order_lives_through_the_order_kernel() -> None:
    fills = [
        (EventKind.FILL, {"client_order_id": 7, "qty": 4, "trade_id": 1}),
        (EventKind.FILL, {"client_order_id": 7, "qty": 6, "trade_id": 2}),
    ]
    core = _core_after(*_stream(*NEW_ORDER, *fills))
    assert order.STATE_NAMES[core.execution.orders[7].state] == "Filled"
    assert core.execution.orders[7].cum == 10
    assert ec.STATE_NAMES[core.execution.keys[7].state] == "Idle" and not core.execution.keys[7].live


def test_a_late_cancel_ack_is_a_recorded_refusal_not_a_crash() -> None:
    core = _core_after(
        *_stream(*NEW_ORDER, (EventKind.FILL, {"client_order_id": 7, "qty": 10, "trade_id": 1}))
    )
    result = core.apply(Event(position=5, kind=int(EventKind.CANCEL_ACK), instrument=1, client_order_id=7))
    assert result.rejections == (("rejected", "order", 7, "too_late"),)
    assert order.STATE_NAMES[core.execution.orders[7].state] == "Filled"


def test_a_report_for_an_unknown_order_is_refused() -> None:
    result = Core(synthetic_config()).apply(
        Event(position=1, kind=int(EventKind.FILL), client_order_id=5, qty=1)
    )
    assert result.rejections == (("rejected", "order", 5, "unknown_order"),)


def test_dispatch_without_a_risk_decision_is_refused_by_execution_control() -> None:
    core = _core_after(*_stream(NEW_ORDER[1]))
    assert 7 not in core.execution.orders
    assert core.digest != Core(synthetic_config()).digest  # the refusal is in the history


def test_a_correction_restates_the_fill_it_names_and_the_position_follows() -> None:
    fill = {"client_order_id": 7, "qty": 6, "trade_id": 3, "side": 1, "price": 100, "fee": 4}
    core = _core_after(*_stream(*NEW_ORDER, (EventKind.FILL, fill)))
    assert core.portfolio.holdings[1] == Holding(qty=6, cost=600, fees=4, volume=6, traded=600, fills=1)
    core.apply(
        Event(position=5, kind=int(EventKind.TRADE_CORRECT), client_order_id=7, trade_id=3, price=98, qty=2)
    )
    assert core.execution.orders[7].cum == 2 and core.execution.order_fills[7][3][0] == 2
    assert core.portfolio.holdings[1] == Holding(qty=2, cost=196, fees=4, volume=2, traded=196, fills=1)


def test_book_events_maintain_levels() -> None:
    core = _core_after(
        *_stream(
            (EventKind.ORDER_ADD, {"order_id": 1, "side": 1, "price": 100, "qty": 5}),
            (EventKind.ORDER_ADD, {"order_id": 2, "side": 1, "price": 100, "qty": 3}),
            (EventKind.ORDER_FILL, {"order_id": 1, "side": 1, "qty": 2}),
            (EventKind.ORDER_CANCEL, {"order_id": 2, "side": 1, "qty": 3}),
        ),
        book="l3",
    )
    book = core.market.books[1].book
    assert isinstance(book, L3Book)
    assert list(book.levels(BID)) == [(100, 3)] and list(book.levels(ASK)) == []
    assert book.orders == {1: (1, 100)} and book.lots(1) == 3 and book.lots(2) == 0
    assert not core.market.books[2].book.orders  # the other instrument's book is untouched


def test_order_events_give_the_order_and_its_levels_as_changes() -> None:
    core = _core_after(
        *_stream((EventKind.ORDER_ADD, {"order_id": 1, "side": 1, "price": 100, "qty": 5})), book="l3"
    )
    moved = core.apply(
        Event(
            position=2, kind=int(EventKind.ORDER_MODIFY), instrument=1, order_id=1, side=1, price=101, qty=4
        )
    )
    assert moved.changes == (
        ("book_order", 1, 1, 4),
        ("level", 1, 1, 100, 0),  # the level it left
        ("level", 1, 1, 101, 4),  # and the one it joined
    )


def test_a_level_book_refuses_order_events() -> None:
    core = _core_after()  # CoreConfig.market defaults to price-level books
    assert isinstance(core.market.books[1].book, L2Book)
    result = core.apply(
        Event(position=1, kind=int(EventKind.ORDER_ADD), instrument=1, order_id=4, side=1, price=100, qty=5)
    )
    assert result.changes == (("rejected", "book", 4, "order_event_on_level_book"),)
    assert list(core.market.books[1].book.levels(BID)) == []


def test_positions_must_increase() -> None:
    core = _core_after(Event(position=5, kind=int(EventKind.SESSION_START)))
    with pytest.raises(InvariantViolation) as caught:
        core.apply(Event(position=5, kind=int(EventKind.SESSION_STOP)))
    assert caught.value.invariant == "positions_increase" and caught.value.position == 5


def test_overdrawing_a_rate_limit_halts_with_a_diagnostic() -> None:
    config = synthetic_config()
    capacity = config.rate_limits[0].capacity
    core = Core(config)
    core.apply(_consume(1, capacity, ts_receive=10))
    with pytest.raises(InvariantViolation) as caught:
        core.apply(_consume(2, 1, ts_receive=11))
    assert caught.value.invariant == "rate_limit_respected"
    assert "position 2" in str(caught.value)


def test_tokens_refill_with_event_time() -> None:
    config = synthetic_config()
    limit = config.rate_limits[0]
    core = Core(config)
    core.apply(_consume(1, limit.capacity, ts_receive=0))
    core.apply(_consume(2, 2, ts_receive=2 * limit.refill_ns))
    assert core.execution.buckets[1][0] == 0


def _consume(position: int, tokens: int, ts_receive: int = 0, scope: int = 1) -> Event:
    return Event(
        position=position,
        kind=int(EventKind.RATE_LIMIT_CONSUMED),
        scope=scope,
        tokens=tokens,
        ts_receive=ts_receive,
    )


def _decided(coid: int, command: int, position: int, qty: int = 5) -> Event:
    """Risk allowed `command` for `coid`: a buy of `qty` lots at 100 (qty 0 for a CANCEL)."""
    return Event(
        position=position,
        kind=int(EventKind.RISK_DECISION),
        instrument=1,
        intent_id=position,
        client_order_id=coid,
        command=command,
        allowed=1,
        side=1,
        price=100,
        qty=0 if command == 3 else qty,
    )


def test_dispatch_order_is_cancel_then_replace_then_new() -> None:
    core = _core_after(*_stream(*NEW_ORDER))  # order 7 lives
    core.apply(_decided(8, 1, 4))  # NEW for order 8
    core.apply(_decided(7, 3, 5))  # CANCEL for order 7
    assert core.dispatchable() == [7, 8]


def test_a_command_held_by_the_rate_limit_becomes_an_obligation() -> None:
    config = synthetic_config()
    limit = config.rate_limits[0]
    core = Core(config)
    core.apply(_decided(1, 1, 1))
    core.apply(_consume(2, limit.capacity, ts_receive=1_000))
    assert core.dispatchable() == []
    (obligation,) = core.obligations()
    assert obligation.due_ts == 1_000 + limit.refill_ns and obligation.scope == 1
    core.apply(
        Event(position=3, kind=int(EventKind.WAKEUP), due_ts=obligation.due_ts, ts_receive=obligation.due_ts)
    )
    assert core.dispatchable() == [1]
    assert core.obligations() == []


def test_a_violation_leaves_state_and_digest_as_they_were() -> None:
    core = _core_after(Event(position=5, kind=int(EventKind.SESSION_START), ts_receive=10))
    before = core.snapshot()
    with pytest.raises(InvariantViolation):
        core.apply(Event(position=4, kind=int(EventKind.SESSION_STOP), ts_receive=20))
    assert core.snapshot() == before


def test_a_denied_risk_decision_leaves_execution_control_untouched() -> None:
    core = Core(synthetic_config())
    result = core.apply(_decided(3, 1, 1)._replace(allowed=0, reason=4))
    assert core.execution.keys == {} and core.dispatchable() == []
    assert result.changes[0] == ("risk", 1, 3, 1, 0, 4)  # the decision itself is history


def test_a_rate_limit_violation_changes_nothing_either() -> None:
    config = synthetic_config()
    core = Core(config)
    core.apply(_consume(1, config.rate_limits[0].capacity, ts_receive=10))
    before = core.snapshot()
    with pytest.raises(InvariantViolation):
        core.apply(_consume(2, 1, ts_receive=11))
    assert core.snapshot() == before


def test_a_dispatch_must_send_the_queued_command() -> None:
    core = _core_after(
        *_stream(*NEW_ORDER, (EventKind.FILL, {"client_order_id": 7, "qty": 4, "trade_id": 1}))
    )
    core.apply(_decided(7, 3, 5))  # CANCEL queued
    result = core.apply(Event(position=6, kind=int(EventKind.DISPATCH), client_order_id=7, command=1, qty=10))
    assert result.rejections == (("rejected", "execution_control", 7, "command_mismatch"),)
    assert core.execution.orders[7].cum == 4  # the live order was not replaced by a fresh one


def test_dispatch_asks_the_rate_limit_for_a_token() -> None:
    config = synthetic_config()
    core = Core(config)
    core.apply(_decided(1, 1, 1))
    core.apply(_consume(2, config.rate_limits[0].capacity))
    result = core.apply(
        Event(
            position=3,
            kind=int(EventKind.DISPATCH),
            instrument=1,
            client_order_id=1,
            command=1,
            side=1,
            price=100,
            qty=5,
        )
    )
    assert result.rejections == (("rejected", "execution_control", 1, "rate_limited"),)
    assert 1 not in core.execution.orders


def test_a_fill_counted_twice_and_a_bust_of_an_unknown_trade_are_refused() -> None:
    core = _core_after(
        *_stream(*NEW_ORDER, (EventKind.FILL, {"client_order_id": 7, "qty": 4, "trade_id": 1}))
    )
    again = core.apply(Event(position=5, kind=int(EventKind.FILL), client_order_id=7, qty=4, trade_id=1))
    stray = core.apply(
        Event(position=6, kind=int(EventKind.TRADE_BUST), client_order_id=7, qty=4, trade_id=99)
    )
    assert again.rejections == (("rejected", "order", 7, "duplicate_execution"),)
    assert stray.rejections == (("rejected", "order", 7, "unknown_execution"),)
    bust = core.apply(Event(position=7, kind=int(EventKind.TRADE_BUST), client_order_id=7, qty=1, trade_id=1))
    # the whole execution is void, whatever qty says
    assert bust.rejections == () and core.execution.orders[7].cum == 0


def test_restore_keeps_the_clock() -> None:
    config = synthetic_config()
    core = Core(config)
    core.apply(_decided(1, 1, 1)._replace(ts_receive=5_000_000))
    core.apply(_consume(2, config.rate_limits[0].capacity, ts_receive=5_000_000))
    restored = Core.restore(config, core.snapshot())
    assert restored.obligations() == core.obligations()
    late = Event(
        position=3, kind=int(EventKind.SESSION_START), ts_receive=1
    )  # receive time is data, not order
    assert restored.apply(late).digest == core.apply(late).digest


def test_unknown_scopes_commands_and_negative_levels_are_refusals() -> None:
    core = _core_after(
        *_stream((EventKind.ORDER_ADD, {"order_id": 1, "side": 1, "price": 100, "qty": 3})), book="l3"
    )
    assert core.apply(_consume(2, 1, scope=77)).rejections
    assert core.apply(
        Event(position=3, kind=int(EventKind.RISK_DECISION), client_order_id=1, command=0, allowed=1)
    ).rejections
    result = core.apply(
        Event(position=4, kind=int(EventKind.LEVEL_SET), instrument=1, side=1, price=100, qty=-1)
    )
    assert result.changes == (("rejected", "book", (1, 1, 100), "bad_size"),)
    result = core.apply(
        Event(position=5, kind=int(EventKind.ORDER_CANCEL), instrument=1, order_id=1, side=1, qty=4)
    )
    assert result.changes == (("rejected", "book", 1, "overfill"),)  # the level would go below zero
    assert list(core.market.books[1].book.levels(BID)) == [(100, 3)]
    unknown = core.apply(
        Event(position=6, kind=int(EventKind.LEVEL_SET), instrument=9, side=1, price=1, qty=1)
    )
    assert unknown.changes == (("rejected", "book", 9, "unknown_instrument"),)


def test_configuration_ids_are_unique() -> None:
    config = synthetic_config()
    with pytest.raises(ValueError, match="scope 1 appears more than once"):
        data = config.model_dump(mode="json")
        type(config).model_validate_json(json.dumps({**data, "rate_limits": data["rate_limits"] * 2}))


def test_a_bust_reopens_the_order_for_execution_control_too() -> None:
    core = _core_after(
        *_stream(*NEW_ORDER, (EventKind.FILL, {"client_order_id": 7, "qty": 10, "trade_id": 1}))
    )
    assert not core.execution.keys[7].live
    core.apply(Event(position=5, kind=int(EventKind.TRADE_BUST), client_order_id=7, trade_id=1))
    assert order.STATE_NAMES[core.execution.orders[7].state] == "New" and core.execution.keys[7].live
    assert core.apply(_decided(7, 3, 6)).rejections == ()  # the working order can be canceled again


def test_a_refused_book_reduction_changes_nothing() -> None:
    core = _core_after(
        *_stream((EventKind.ORDER_ADD, {"order_id": 1, "side": 1, "price": 100, "qty": 5})), book="l3"
    )
    chain = ("position", "digest", "digest_open_block")  # the refusal itself enters the history
    refused = [
        # a level set below the orders the book holds there, and a cancel of more than the order has
        (
            Event(position=2, kind=int(EventKind.LEVEL_SET), instrument=1, side=1, price=100, qty=2),
            ("rejected", "book", (1, 1, 100), "level_below_its_orders"),
        ),
        (
            Event(position=3, kind=int(EventKind.ORDER_CANCEL), instrument=1, order_id=1, side=1, qty=6),
            ("rejected", "book", 1, "overfill"),
        ),
    ]
    for ev, rejection in refused:
        before = core.snapshot()
        result = core.apply(ev)
        assert result.changes == (rejection,)
        assert {k: v for k, v in core.snapshot().items() if k not in chain} == {
            k: v for k, v in before.items() if k not in chain
        }
    assert list(core.market.books[1].book.levels(BID)) == [(100, 5)]


def test_a_receive_time_flagged_bad_does_not_move_the_clock() -> None:
    core = _core_after(Event(position=1, kind=int(EventKind.SESSION_START), ts_receive=100))
    core.apply(
        Event(
            position=2,
            kind=int(EventKind.BBO),
            instrument=1,
            ts_receive=9_999,
            flags=int(Flag.BAD_RECEIVE_TS),
        )
    )
    assert core.now == 100


def test_a_new_with_a_quantity_outside_its_type_is_refused_before_anything_changes() -> None:
    core = Core(synthetic_config())
    core.apply(_decided(2, 1, 1, qty=0))
    before = core.execution.keys[2]
    result = core.apply(
        Event(
            position=2,
            kind=int(EventKind.DISPATCH),
            instrument=1,
            client_order_id=2,
            command=1,
            side=1,
            price=100,
            qty=0,
        )
    )
    assert result.rejections == (("rejected", "order", 2, "bad_quantity"),)
    assert core.execution.keys[2] == before and 2 not in core.execution.orders
