"""The runtime loop around one Core, the same in Backtest and Live.

The Core folds events; it never acts. The sequencer is what acts, and it writes down everything
it does as an event, so the journal alone replays every decision:

- each input (market data, execution reports, control) gets the next stream position;
- after each step the strategy may return intents; each intent's risk outcome is recorded as a
  RISK_DECISION;
- every command execution control lets go is checked by risk once more (a NEW or REPLACE may have
  waited while the position moved) and recorded as a DISPATCH: a denied one with its reason, and
  withdrawn; an allowed one followed by a RATE_LIMIT_CONSUMED per bucket it draws on, and handed
  to the venue;
- before an input later than an obligation's due time, a WAKEUP at that time is recorded first,
  so a command held back by the rate limit goes out when its token frees, not at the next input;
- every `checkpoint_every` positions, a CHECKPOINT is recorded and the Core's snapshot saved.

It reads no clock: time comes from the inputs (and, in Live, from `advance_to`, which the live
runtime calls with its own clock between inputs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from canonicalflow.events import Command, Event, EventKind, Flag, Intent
from canonicalflow.state import Core, StepResult

__all__ = ["SEQUENCER_KINDS", "Decide", "JournalSink", "RequestSink", "RiskCheck", "Sequencer"]

_BAD_RECEIVE_TS = int(Flag.BAD_RECEIVE_TS)
# What the sequencer records itself, never an input: a rerun of the inputs makes all of them again.
SEQUENCER_KINDS = frozenset(
    (
        EventKind.RISK_DECISION,
        EventKind.DISPATCH,
        EventKind.RATE_LIMIT_CONSUMED,
        EventKind.WAKEUP,
        EventKind.CHECKPOINT,
    )
)


class JournalSink(Protocol):
    """Receives every event the Core applies, in position order: a journal writer's buffer, a list
    in a test."""

    def __call__(self, ev: Event, /) -> None: ...


class RiskCheck(Protocol):
    """The risk gate: 0 allows, any other value is the refusal's reason code. A check may also
    return the intent it allows, normalised (price onto the tick grid, size onto the lot): that is
    what gets queued. The same check runs again on a queued NEW or REPLACE just before dispatch."""

    def __call__(self, intent: Intent, /) -> int | tuple[int, Intent]: ...


class Decide(Protocol):
    """After each event the Core applied: what the strategy wants done."""

    def __call__(self, core: Core, ev: Event, step: StepResult, /) -> Iterable[Intent]: ...


class RequestSink(Protocol):
    """Where each DISPATCH goes once recorded: the venue adapter's `send`
    (`canonicalflow.venue.VenueAdapter`)."""

    def __call__(self, request: Event, /) -> None: ...


def _no_intents(core: Core, ev: Event, step: StepResult) -> Iterable[Intent]:
    return ()


def _nowhere(request: Event) -> None:
    """No venue: a DISPATCH is recorded and goes no further."""


def _no_snapshot(core: Core) -> None:
    """No checkpoint files: a CHECKPOINT marks the stream only."""


class Sequencer:
    """Positions inputs, applies them, records decisions, dispatches and wake-ups.

    `record` receives every event the Core applies, in position order (a journal writer's
    buffer, a list in a test); `send` receives each DISPATCH, for the venue adapter.
    """

    def __init__(
        self,
        core: Core,
        record: JournalSink,
        risk: RiskCheck,
        decide: Decide = _no_intents,
        send: RequestSink = _nowhere,
        checkpoint_every: int = 0,
        on_checkpoint: Callable[[Core], None] = _no_snapshot,
    ) -> None:
        self.core = core
        self._record, self._risk, self._decide, self._send = record, risk, decide, send
        self._checkpoint_every, self._on_checkpoint = checkpoint_every, on_checkpoint
        self._checkpoints = 0
        self.decisions = 0  # intents decided (each recorded as a RISK_DECISION): how often we acted

    def feed(self, ev: Event) -> StepResult:
        """Apply one input (its position is assigned here), then everything it sets in motion.
        Twin: `_lane._before_due` (where a timer's WAKEUP falls in a batch, canonicalflow.backtest)."""
        if not ev.flags & _BAD_RECEIVE_TS:  # a receive time known to be wrong moves no clock
            self.advance_to(ev.ts_receive)
        ev, result = self._apply(ev)
        self._after(ev, result)
        return result

    def next_due(self) -> int | None:
        """When the earliest obligation falls due (after the Core's clock), or None: a runtime's timer."""
        now = self.core.now
        return min((ob.due_ts for ob in self.core.obligations() if ob.due_ts > now), default=None)

    def advance_to(self, ts: int) -> None:
        """Record a WAKEUP for every obligation due at or before `ts`, earliest first."""
        while True:
            due = [ob for ob in self.core.obligations() if self.core.now < ob.due_ts <= ts]
            if not due:
                return
            ob = due[0]
            wake = Event(
                kind=int(EventKind.WAKEUP),
                ts_exchange=ob.due_ts,
                ts_receive=ob.due_ts,
                due_ts=ob.due_ts,
                reason=ob.reason,
            )
            self._after(*self._apply(wake))

    def _apply(self, ev: Event) -> tuple[Event, StepResult]:
        """Apply `ev` at the next position (the first is 1) and record it; a checkpoint follows each
        position that is a multiple of `checkpoint_every`. Twin: `MarketLane._checkpoint_row`."""
        ev = ev._replace(position=max(self.core.position, 0) + 1)
        result = self.core.apply(ev)
        self._record(ev)
        if self._checkpoint_every and ev.position % self._checkpoint_every == 0:
            self._checkpoint()
        return ev, result

    def _checkpoint(self) -> None:
        """A CHECKPOINT marks the position in the stream; the snapshot after it goes to disk."""
        self._checkpoints += 1
        now = self.core.now
        ev = Event(
            position=self.core.position + 1,
            kind=int(EventKind.CHECKPOINT),
            ts_exchange=now,
            ts_receive=now,
            checkpoint_id=self._checkpoints,
        )
        self.core.apply(ev)
        self._record(ev)
        self._on_checkpoint(self.core)

    def fold(self, ev: Event) -> StepResult:
        """Apply and record one input without asking for decisions: for a runtime that folds
        market data in batches, asks the strategy itself, and hands its intents to `decide`."""
        return self._apply(ev)[1]

    def decide(self, intents: Iterable[Intent]) -> None:
        """The strategy's intents through risk, then whatever execution control lets go."""
        for intent in intents:
            self._decision(intent)
        self._dispatch_ready()

    def _after(self, ev: Event, result: StepResult) -> None:
        self.decide(self._decide(self.core, ev, result))

    def _decision(self, intent: Intent) -> None:
        intent = Intent(*map(int, intent))  # plain ints: an IntEnum's repr would change the digest
        self.decisions += 1
        verdict = self._risk(intent)
        reason, intent = verdict if isinstance(verdict, tuple) else (verdict, intent)
        now = self.core.now
        self._apply(
            Event(
                kind=int(EventKind.RISK_DECISION),
                ts_exchange=now,
                ts_receive=now,
                instrument=intent.instrument,
                intent_id=intent.intent_id,
                client_order_id=intent.client_order_id,
                command=intent.command,
                allowed=int(reason == 0),
                reason=reason,
                side=intent.side,
                price=intent.price,
                qty=intent.qty,
                order_type=intent.order_type,
                tif=intent.tif,
                expire_ts=intent.expire_ts,
            )
        )

    def _recheck(self, intent: Intent) -> int:
        """Risk again, on the State of now, for a command that adds exposure; a cancel always goes."""
        if intent.command == Command.CANCEL:
            return 0
        verdict = self._risk(intent)
        return verdict[0] if isinstance(verdict, tuple) else verdict

    def _dispatch_ready(self) -> None:
        """Dispatch queued commands in execution control's order until none is free to go."""
        refused: set[int] = set()
        while ready := [coid for coid in self.core.dispatchable() if coid not in refused]:
            coid = ready[0]
            core = self.core
            intent = core.queued_intent(coid)
            now = core.now
            dispatch = Event(
                kind=int(EventKind.DISPATCH),
                ts_exchange=now,
                ts_receive=now,
                instrument=intent.instrument,
                intent_id=intent.intent_id,
                client_order_id=coid,
                command=intent.command,
                side=intent.side,
                price=intent.price,
                qty=intent.qty,
                order_type=intent.order_type,
                tif=intent.tif,
                expire_ts=intent.expire_ts,
                reason=self._recheck(intent),
            )
            _, result = self._apply(dispatch)
            if result.rejections:
                refused.add(coid)  # recorded; it stays queued, and is not tried again on this step
                continue
            if dispatch.reason:
                continue  # withdrawn: recorded, nothing goes to the venue
            if core.in_flight(coid) == Command.NONE:
                continue  # a stale command, dropped: nothing goes to the venue
            self._send(dispatch._replace(position=result.position))
            for scope in core.scopes(coid):
                self._apply(
                    Event(
                        kind=int(EventKind.RATE_LIMIT_CONSUMED),
                        ts_exchange=now,
                        ts_receive=now,
                        scope=scope,
                        tokens=1,
                    )
                )
