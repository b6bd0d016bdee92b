"""Arbitrary streams, valid or not: the Core records refusals, halts only on its invariants, never crashes.

Events here bypass the boundary on purpose (any kind, any small or odd field values), so the Core
itself must hold: every step either applies with its changes recorded, or raises
InvariantViolation and changes nothing; replaying the same stream gives the same digests.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from canonicalflow.errors import InvariantViolation
from canonicalflow.events import Event, EventKind
from canonicalflow.state import Core
from canonicalflow.testing import synthetic_config

_SMALL = st.integers(-3, 12)
# Ids, commands and flags mostly 1 or 2, so events keep meeting the same orders; now and then odd.
_FEW = st.one_of(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2), st.integers(-1, 4))
_NARROW = {
    "client_order_id",
    "order_id",
    "intent_id",
    "trade_id",
    "scope",
    "command",
    "allowed",
    "side",
    "instrument",
}
_FIELDS = [name for name in Event._fields if name not in ("position", "kind")]
# Every kind, with our orders' lifecycle weighted up: that is where steps depend on earlier steps.
_BUSY = [
    EventKind.RISK_DECISION,
    EventKind.DISPATCH,
    EventKind.ACK,
    EventKind.FILL,
    EventKind.CANCEL_ACK,
    EventKind.TRADE_BUST,
]
_KINDS = sorted(EventKind) + _BUSY * 4


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    count = draw(st.integers(1, 60))
    events = []
    position = 0
    for _ in range(count):
        position += draw(st.integers(0, 2))  # 0 now and then: a position that does not increase
        kind = draw(st.sampled_from(_KINDS))
        values = draw(st.fixed_dictionaries({name: _FEW if name in _NARROW else _SMALL for name in _FIELDS}))
        values["ts_receive"] = draw(st.integers(0, 5_000_000))
        events.append(Event(position=position, kind=int(kind), **values))
    return events


def _run(events: list[Event]) -> list[bytes]:
    core = Core(synthetic_config())
    digests = []
    for ev in events:
        before = core.snapshot()
        try:
            digests.append(core.apply(ev).digest)
        except InvariantViolation:
            assert core.snapshot() == before, f"a halted step changed State at position {ev.position}"
            digests.append(b"halt")
    return digests


@settings(max_examples=150, deadline=None)
@given(streams())
def test_any_stream_is_folded_or_halted_never_crashed(events: list[Event]) -> None:
    assert _run(events) == _run(events)
