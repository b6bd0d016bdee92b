"""The runtime loop records every decision it makes, so replaying its journal reproduces them."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from canonicalflow.config import CoreConfig, Instrument, RateLimit
from canonicalflow.events import Event, EventKind, Flag, Intent
from canonicalflow.runtime import RiskCheck, Sequencer
from canonicalflow.state import Core, Reader, StepResult

MS = 1_000_000
T0 = 1_700_000_000_000_000_000
KILLED = 7  # the reason code the test's risk check gives while the kill switch is engaged

CONFIG = CoreConfig(
    version="sequencer-test",
    instruments=(Instrument(id=1, symbol="X", tick_size="0.01", lot_size="1"),),
    rate_limits=(RateLimit(scope=1, capacity=2, refill_ns=MS),),
)


def _risk(core: Core) -> RiskCheck:
    """The test's risk check: it reads State (through a Reader, as risk does) and refuses while killed."""
    state = Reader(core)

    def check(intent: Intent) -> int:
        return KILLED if state.control.kill_switch else 0

    return check


def _one_new_per_quote(core: Core, ev: Event, step: StepResult) -> Iterable[Intent]:
    """A new buy of one lot at the bid on every quote: enough to run into the rate limit."""
    if ev.kind == EventKind.BBO:
        quote = core.market.quotes[1]
        yield Intent(step.position, 1, step.position, 1, side=1, price=quote.bid_price, qty=1)


def _inputs() -> list[Event]:
    quotes = [
        Event(
            kind=int(EventKind.BBO),
            ts_receive=T0 + i,
            instrument=1,
            bid_price=100 + i,
            bid_qty=5,
            ask_price=110,
            ask_qty=5,
        )
        for i in range(5)
    ]
    later = Event(kind=int(EventKind.TRADE), ts_receive=T0 + 5 * MS, instrument=1, price=105, qty=1)
    return [*quotes, later]


def _run(inputs: list[Event]) -> tuple[list[Event], list[Event], list[bytes]]:
    recorded: list[Event] = []
    sent: list[Event] = []
    core = Core(CONFIG)
    digests: list[bytes] = []

    def record(ev: Event) -> None:
        recorded.append(ev)
        digests.append(core.digest)

    sequencer = Sequencer(core, record, _risk(core), _one_new_per_quote, send=sent.append)
    for ev in inputs:
        sequencer.feed(ev)
    return recorded, sent, digests


def test_the_rate_limit_holds_commands_back_and_a_wakeup_lets_them_go_when_a_token_frees() -> None:
    recorded, sent, _ = _run(_inputs())
    kinds = [EventKind(ev.kind).name for ev in recorded]
    assert kinds.count("RISK_DECISION") == 5 and kinds.count("DISPATCH") == 5
    wakeups = [ev for ev in recorded if ev.kind == EventKind.WAKEUP]
    assert [w.due_ts for w in wakeups] == [T0 + MS, T0 + 2 * MS, T0 + 3 * MS]
    # the first two leave at once; each later one leaves at its wake-up, not at the next input
    assert [d.ts_receive for d in sent] == [T0, T0 + 1, T0 + MS, T0 + 2 * MS, T0 + 3 * MS]
    assert recorded[-1].kind == EventKind.TRADE  # the wake-ups came before the later input
    assert [ev.position for ev in recorded] == list(range(1, len(recorded) + 1))


def test_each_dispatch_is_followed_by_its_token_and_sends_what_risk_allowed() -> None:
    recorded, sent, _ = _run(_inputs())
    for ev, after in pairwise(recorded):
        if ev.kind == EventKind.DISPATCH:
            assert after.kind == EventKind.RATE_LIMIT_CONSUMED and after.scope == 1
    assert [(d.client_order_id, d.price, d.qty) for d in sent] == [
        (p, 100 + i, 1) for i, p in enumerate(_decided(recorded))
    ]


def _decided(recorded: list[Event]) -> list[int]:
    return [ev.client_order_id for ev in recorded if ev.kind == EventKind.RISK_DECISION]


def test_a_refusal_by_risk_is_recorded_with_its_reason_and_nothing_is_sent() -> None:
    kill = Event(kind=int(EventKind.KILL_SWITCH), ts_receive=T0 - 1, engaged=1)
    recorded, sent, _ = _run([kill, *_inputs()])
    decisions = [ev for ev in recorded if ev.kind == EventKind.RISK_DECISION]
    assert {(d.allowed, d.reason) for d in decisions} == {(0, KILLED)}
    assert sent == []


def test_replaying_the_recorded_events_reproduces_every_digest() -> None:
    recorded, _, digests = _run(_inputs())
    core = Core(CONFIG)
    assert [core.apply(ev).digest for ev in recorded] == digests


def test_the_same_inputs_give_the_same_recorded_stream() -> None:
    assert _run(_inputs())[0] == _run(_inputs())[0]


def test_a_venue_answer_frees_the_key_for_the_next_command() -> None:
    core = Core(CONFIG)
    recorded: list[Event] = []
    sent: list[Event] = []
    sequencer = Sequencer(core, recorded.append, _risk(core), _one_new_per_quote, send=sent.append)
    sequencer.feed(_inputs()[0])
    assert core.execution.orders[sent[0].client_order_id].state == 0  # PendingNew until the venue answers
    ack = Event(
        kind=int(EventKind.ACK), ts_receive=T0 + 10, instrument=1, client_order_id=sent[0].client_order_id
    )
    assert sequencer.feed(ack).rejections == ()
    assert not core.dispatchable() and core.execution.keys[sent[0].client_order_id].live


def test_a_receive_time_known_to_be_wrong_fires_no_wakeup() -> None:
    recorded, _, _ = _run([*_inputs()[:5]])
    bad = Event(
        kind=int(EventKind.TRADE),
        ts_receive=10**18,
        flags=int(Flag.BAD_RECEIVE_TS),
        instrument=1,
        price=1,
        qty=1,
    )
    core = Core(CONFIG)
    sequencer = Sequencer(core, (kept := []).append, _risk(core), _one_new_per_quote)
    for ev in [*_inputs()[:5], bad]:
        sequencer.feed(ev)
    assert [EventKind(e.kind).name for e in kept] == [EventKind(e.kind).name for e in recorded] + ["TRADE"]
    assert core.now < T0 + 10**12  # neither the clock nor the held-back commands jumped ahead
