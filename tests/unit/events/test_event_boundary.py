"""The event boundary: `parse_event` turns untrusted mappings into flat Event records or names what is wrong.

Every kind is exercised from the FIELDS table, so a kind added there is tested without a new test.
The concept page's kind table and its Python example are checked here too, so the page cannot drift
from the code.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from canonicalflow.errors import InvalidEvent
from canonicalflow.events import (
    COMMON_FIELDS,
    FIELD_DOCS,
    FIELDS,
    Category,
    Event,
    EventKind,
    Flag,
    category_of,
    parse_event,
)
from codegen.pipeline import Project

EVENTS_DOC = Project.locate().root / "docs" / "concepts" / "events.md"
KINDS = list(EventKind)
POSITION = 7

# A valid, non-zero value for every field, so "unused fields are 0" cannot pass by accident.
SAMPLE: dict[str, int] = {
    "position": POSITION,
    "ts_exchange": 1_764_000_000_000_000_000,
    "ts_receive": 1_764_000_000_000_050_000,
    "instrument": 3,
    "flags": int(Flag.LAST_IN_PACKET),
    "sequence": 1001,
    "order_id": 555,
    "client_order_id": 42,
    "intent_id": 17,
    "side": -1,
    "price": 10_050,
    "qty": 5,
    "bid_price": 10_049,
    "bid_qty": 12,
    "ask_price": 10_051,
    "ask_qty": 9,
    "trade_id": 9001,
    "liquidity": 1,
    "fee": -3,
    "reason": 4,
    "command": 2,
    "allowed": 1,
    "scope": 2,
    "tokens": 1,
    "engaged": 1,
    "config_id": 8,
    "gap_to": 1010,
    "checkpoint_id": 6,
    "due_ts": 1_764_000_000_001_000_000,
    "order_type": 1,
    "tif": 4,
    "expire_ts": 1_764_000_000_002_000_000,
}

# The categories spelled out by hand, not derived from the codes, and the code range of each.
CATEGORY_KINDS: dict[Category, set[str]] = {
    Category.MARKET: {
        "ORDER_ADD",
        "ORDER_MODIFY",
        "ORDER_CANCEL",
        "ORDER_FILL",
        "BOOK_CLEAR",
        "LEVEL_SET",
        "SNAPSHOT_BEGIN",
        "SNAPSHOT_END",
        "TRADE",
        "BBO",
        "TRADING_STATUS",
    },
    Category.EXECUTION: {
        "ACK",
        "REJECT",
        "FILL",
        "CANCEL_ACK",
        "CANCEL_REJECT",
        "REPLACE_ACK",
        "REPLACE_REJECT",
        "EXPIRED",
        "DONE_FOR_DAY",
        "VENUE_CANCEL",
        "RESTATE",
        "TRADE_BUST",
        "TRADE_CORRECT",
    },
    Category.INTENT: {"RISK_DECISION", "DISPATCH", "RATE_LIMIT_CONSUMED"},
    Category.CONTROL: {
        "SESSION_START",
        "SESSION_STOP",
        "TRADING_ENABLED",
        "TRADING_DISABLED",
        "KILL_SWITCH",
        "CONFIG_CHANGE",
        "FEED_GAP",
        "CHECKPOINT",
        "WAKEUP",
    },
}
CODE_RANGES = {
    Category.MARKET: range(1, 20),
    Category.EXECUTION: range(20, 40),
    Category.INTENT: range(40, 50),
    Category.CONTROL: range(50, 70),
}


def used_fields(kind: EventKind) -> tuple[str, ...]:
    """Every field the kind's record carries, kind included."""
    return COMMON_FIELDS + FIELDS[kind]


def valid_mapping(kind: EventKind) -> dict[str, Any]:
    """A mapping the boundary must accept for `kind`, built from the FIELDS table."""
    return {name: kind.name if name == "kind" else SAMPLE[name] for name in used_fields(kind)}


def rejection(data: dict[str, Any]) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(data)
    return caught.value


# --- valid input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_valid_mapping_parses_to_its_fields_and_zeros_elsewhere(kind: EventKind) -> None:
    event = parse_event(valid_mapping(kind))
    assert isinstance(event, Event)
    assert event.kind == kind
    for name in Event._fields:
        expected = int(kind) if name == "kind" else SAMPLE[name] if name in used_fields(kind) else 0
        assert getattr(event, name) == expected, name


@pytest.mark.parametrize("form", ["name", "code"])
@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_kind_is_given_by_name_or_by_code(kind: EventKind, form: str) -> None:
    kind_as = kind.name if form == "name" else int(kind)
    assert parse_event({**valid_mapping(kind), "kind": kind_as}) == parse_event(valid_mapping(kind))


def test_flags_may_be_left_out_and_default_to_zero() -> None:
    mapping = valid_mapping(EventKind.TRADE)
    del mapping["flags"]
    assert parse_event(mapping).flags == 0


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        (EventKind.TRADE, "side", 0),  # the aggressor may be unknown
        (EventKind.LEVEL_SET, "qty", 0),  # the level is gone
        (EventKind.ORDER_CANCEL, "qty", 0),
        (EventKind.FILL, "liquidity", 0),
        (EventKind.FILL, "fee", 7),
        (EventKind.ORDER_ADD, "price", -25),  # spreads and some futures trade below zero
        (EventKind.SESSION_START, "flags", int(Flag.LAST_IN_PACKET | Flag.SNAPSHOT | Flag.BAD_RECEIVE_TS)),
        (EventKind.RISK_DECISION, "allowed", 0),
        (EventKind.KILL_SWITCH, "engaged", 0),
        (EventKind.SESSION_START, "position", 0),
    ],
    ids=lambda value: value.name if isinstance(value, EventKind) else str(value),
)
def test_edge_values_that_are_valid_are_accepted(kind: EventKind, field: str, value: int) -> None:
    assert getattr(parse_event({**valid_mapping(kind), field: value}), field) == value


# --- rejected input ------------------------------------------------------------------------------

REQUIRED = [(kind, name) for kind in KINDS for name in used_fields(kind) if name != "flags"]


@pytest.mark.parametrize(("kind", "field"), REQUIRED, ids=[f"{k.name}-{f}" for k, f in REQUIRED])
def test_a_missing_field_is_named_with_the_position(kind: EventKind, field: str) -> None:
    mapping = valid_mapping(kind)
    del mapping[field]
    error = rejection(mapping)
    assert error.field == field
    assert error.position == ("?" if field == "position" else POSITION)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
@pytest.mark.parametrize("foreign", ["unknown", "another kind's"])
def test_a_field_the_kind_does_not_carry_is_rejected_by_name(kind: EventKind, foreign: str) -> None:
    name = "colour" if foreign == "unknown" else next(n for n in Event._fields if n not in used_fields(kind))
    error = rejection({**valid_mapping(kind), name: 1})
    assert (error.field, error.position) == (name, POSITION)


OUT_OF_RANGE = [
    pytest.param(EventKind.ORDER_ADD, "side", 2, id="side-2"),
    pytest.param(EventKind.FILL, "side", 2, id="fill-side-2"),
    pytest.param(EventKind.ORDER_ADD, "side", 0, id="side-0-outside-trade"),
    pytest.param(EventKind.TRADE, "side", 2, id="trade-side-2"),
    pytest.param(EventKind.LEVEL_SET, "qty", -1, id="negative-qty"),
    pytest.param(EventKind.TRADE, "qty", 0, id="trade-qty-0"),
    pytest.param(EventKind.ORDER_ADD, "qty", 0, id="order-add-qty-0"),
    pytest.param(EventKind.FILL, "qty", 0, id="fill-qty-0"),
    pytest.param(EventKind.ORDER_FILL, "qty", 0, id="order-fill-qty-0"),
    pytest.param(EventKind.FILL, "liquidity", 3, id="liquidity-3"),
    pytest.param(EventKind.RISK_DECISION, "command", 0, id="command-0"),
    pytest.param(EventKind.DISPATCH, "command", 4, id="command-4"),
    pytest.param(EventKind.RISK_DECISION, "allowed", 2, id="allowed-2"),
    pytest.param(EventKind.KILL_SWITCH, "engaged", 2, id="engaged-2"),
    pytest.param(EventKind.ACK, "client_order_id", 0, id="client-order-id-0"),
    pytest.param(EventKind.RATE_LIMIT_CONSUMED, "tokens", 0, id="tokens-0"),
    pytest.param(EventKind.SESSION_START, "flags", 8, id="unknown-flag-bit"),
    pytest.param(EventKind.SESSION_START, "position", -1, id="negative-position"),
    pytest.param(EventKind.SESSION_START, "ts_receive", -1, id="negative-ts"),
    pytest.param(EventKind.TRADE, "qty", True, id="bool-qty"),
    pytest.param(EventKind.TRADE, "price", False, id="bool-price"),
    pytest.param(EventKind.TRADE, "qty", 5.0, id="float-qty"),
    pytest.param(EventKind.TRADE, "price", "10050", id="str-price"),
    pytest.param(EventKind.TRADE, "side", True, id="bool-side"),
    pytest.param(EventKind.FILL, "liquidity", True, id="bool-liquidity"),
    pytest.param(EventKind.DISPATCH, "command", True, id="bool-command"),
    pytest.param(EventKind.RISK_DECISION, "allowed", False, id="bool-allowed"),
    pytest.param(EventKind.KILL_SWITCH, "engaged", True, id="bool-engaged"),
    pytest.param(EventKind.TRADE, "qty", 2**63, id="qty-beyond-int64"),
    pytest.param(EventKind.TRADE, "price", -(2**63) - 1, id="price-below-int64"),
]


@pytest.mark.parametrize(("kind", "field", "value"), OUT_OF_RANGE)
def test_an_out_of_range_value_is_rejected_by_field(kind: EventKind, field: str, value: object) -> None:
    error = rejection({**valid_mapping(kind), field: value})
    assert error.field == field
    assert error.position == (value if field == "position" else POSITION)


@pytest.mark.parametrize(
    "kind_as",
    [
        pytest.param("NO_SUCH_KIND", id="unknown-name"),
        pytest.param("order_add", id="lowercase-name"),
        pytest.param(99, id="unknown-code"),
        pytest.param(0, id="code-0"),
        pytest.param(None, id="none"),
        pytest.param(True, id="bool-code"),
        pytest.param(1.0, id="float-code"),
    ],
)
def test_an_unknown_kind_is_rejected(kind_as: object) -> None:
    error = rejection({**valid_mapping(EventKind.ORDER_ADD), "kind": kind_as})
    assert (error.field, error.position) == ("kind", POSITION)


def test_a_missing_kind_is_rejected() -> None:
    mapping = valid_mapping(EventKind.SESSION_START)
    del mapping["kind"]
    error = rejection(mapping)
    assert (error.field, error.position) == ("kind", POSITION)


def test_the_error_message_names_position_and_field() -> None:
    error = rejection({**valid_mapping(EventKind.TRADE), "qty": 0})
    assert str(error).startswith(f"event at position {POSITION}: field 'qty': TRADE")


# --- the tables themselves -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_each_kind_is_in_its_category_and_code_range(kind: EventKind) -> None:
    (expected,) = (category for category, names in CATEGORY_KINDS.items() if kind.name in names)
    assert category_of(kind) is expected
    assert kind in CODE_RANGES[expected]


def test_the_category_lists_cover_every_kind_once() -> None:
    names = [name for names in CATEGORY_KINDS.values() for name in names]
    assert sorted(names) == sorted(kind.name for kind in EventKind)


@pytest.mark.parametrize("field", Event._fields)
def test_every_field_is_documented_and_used_by_some_kind(field: str) -> None:
    """A field no kind uses is dead weight in every row; an undocumented one is a guess for readers."""
    assert FIELD_DOCS.get(field, "").strip(), f"{field} has no FIELD_DOCS entry"
    assert any(field in used_fields(kind) for kind in EventKind), f"no kind uses {field}"


def test_field_docs_has_no_entry_for_a_field_that_does_not_exist() -> None:
    assert set(FIELD_DOCS) == set(Event._fields)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_kind_fields_are_record_fields_without_repeats(kind: EventKind) -> None:
    assert set(FIELDS[kind]) <= set(Event._fields) - set(COMMON_FIELDS)
    assert len(set(FIELDS[kind])) == len(FIELDS[kind])


# --- the concept page cannot drift ---------------------------------------------------------------

_KIND_ROW = re.compile(r"^\| `(?P<name>[A-Z_]+)` \| (?P<code>\d+) \| (?P<category>\w+) \| (?P<fields>.*) \|$")


def documented_kinds() -> dict[str, tuple[int, str, tuple[str, ...]]]:
    """name -> (code, category, fields) from the kind table of docs/concepts/events.md."""
    table: dict[str, tuple[int, str, tuple[str, ...]]] = {}
    for line in EVENTS_DOC.read_text().splitlines():
        if match := _KIND_ROW.match(line):
            fields = tuple(re.findall(r"`(\w+)`", match["fields"]))
            assert match["name"] not in table, f"{match['name']} is listed twice"
            table[match["name"]] = (int(match["code"]), match["category"], fields)
    return table


def test_the_concept_page_lists_every_kind_as_the_code_defines_it() -> None:
    expected = {kind.name: (int(kind), category_of(kind).name.lower(), FIELDS[kind]) for kind in EventKind}
    assert documented_kinds() == expected


def test_the_concept_page_python_example_runs() -> None:
    blocks = re.findall(r"^```python\n(.*?)^```$", EVENTS_DOC.read_text(), re.MULTILINE | re.DOTALL)
    assert blocks, f"no ```python block in {EVENTS_DOC}"
    for block in blocks:
        exec(compile(block, str(EVENTS_DOC), "exec"), {})
