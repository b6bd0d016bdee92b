"""The Core: fold one canonical event into State, through the generated kernels.

State has four domains: market (top of book, price levels, the venue's resting orders, last
trade), execution (our orders through the order-lifecycle kernel, execution control per order key
through its kernel, rate-limit buckets), the portfolio (a position per instrument from our fills,
in integers) and control (session, trading switch, kill switch,
configuration version, feed gaps, wake-ups). Nothing else changes it: no clock, no I/O, no
randomness. Every change an event makes is listed, digested into the chain, and returned; a
kernel's refusal is one of those changes, recorded, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import NamedTuple

import numpy as np

from canonicalflow._generated import execution_control_kernel as ec
from canonicalflow._generated import order_lifecycle_kernel as order
from canonicalflow.config import CoreConfig
from canonicalflow.errors import InvariantViolation
from canonicalflow.events import Event, EventKind, Flag
from canonicalflow.state._digest import GENESIS, MARKET_RECORD_KINDS, link, market_record
from canonicalflow.state._portfolio import Position, trade

__all__ = [
    "RATE_LIMIT_WAKEUP",
    "TIMER_WAKEUP",
    "Control",
    "Core",
    "Obligation",
    "Quote",
    "StepResult",
    "replay",
]

Change = tuple


class Quote(NamedTuple):
    """An instrument's top of book and last trade, in ticks and lots."""

    bid_price: int = 0
    bid_qty: int = 0
    ask_price: int = 0
    ask_qty: int = 0
    last_price: int = 0
    last_qty: int = 0


class Control(NamedTuple):
    session_open: bool = False
    trading_enabled: bool = False
    kill_switch: bool = False
    config_id: int = 0
    last_wakeup: int = 0


class Obligation(NamedTuple):
    """Work the Core cannot do before `due_ts`; the runtime turns it into a WAKEUP event then."""

    due_ts: int
    reason: int
    scope: int


class StepResult(NamedTuple):
    position: int
    digest: bytes
    changes: tuple[Change, ...]

    @property
    def rejections(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c[0] == "rejected")


RATE_LIMIT_WAKEUP = 1  # Obligation.reason: a queued command waits for a rate-limit token
TIMER_WAKEUP = 2  # Obligation.reason: the strategy's timer (`CoreConfig.timer_ns`) is due
_DISPATCH_ORDER = {
    ec.SLOT_CANCEL: 0,
    ec.SLOT_REPLACE: 1,
    ec.SLOT_NEW: 2,
}  # CANCEL first, then REPLACE, then NEW

_NEW = ec.SLOT_NEW  # Event.command codes are execution control's slots: 1 NEW, 2 REPLACE, 3 CANCEL
_COMMAND_EVENT = {
    _NEW: ec.E_SUBMIT_NEW,
    ec.SLOT_REPLACE: ec.E_SUBMIT_REPLACE,
    ec.SLOT_CANCEL: ec.E_SUBMIT_CANCEL,
}
_IDLE_KEY = ec.initial()
_FLAT = Position()
_MARKET_RECORD_KINDS = frozenset(MARKET_RECORD_KINDS)
_BAD_RECEIVE_TS = int(Flag.BAD_RECEIVE_TS)  # a plain int: enum arithmetic costs on every event
FINAL_ORDER_STATES = frozenset({order.S_FILLED}) | order.TERMINAL_STATES


class Core:
    """Mutable State at one position; `apply` is the only way it changes."""

    def __init__(self, config: CoreConfig, digests: bool = True) -> None:
        self.config = config
        self.digests = digests  # off only to measure what the chain costs
        self.position = -1
        self.digest = GENESIS  # covers every position up to the last sealed block (all of them, blocks of 1)
        self._block = config.digest_block
        self.digest_records: list[bytes] = []  # the open block's records, not yet in `digest`
        self._open_block_end = 0  # the last position in the open block
        self.now = 0  # the latest receive time seen: the Core's only clock
        self.quotes: dict[int, Quote] = {}
        self.levels: dict[tuple[int, int, int], int] = {}  # (instrument, side, price) -> lots
        self.book_orders: dict[
            tuple[int, int], tuple[int, int, int]
        ] = {}  # (instrument, id) -> side, price, lots
        self.orders: dict[int, order.State] = {}  # client order id -> order lifecycle
        # client order id -> trade id -> (lots, instrument, side, price, fee): what a bust takes back
        self.order_fills: dict[int, dict[int, tuple[int, int, int, int, int]]] = {}
        self.positions: dict[int, Position] = {}  # instrument -> position
        self.keys: dict[int, ec.State] = {}  # client order id -> execution control
        self._queued: set[int] = (
            set()
        )  # keys in Queued: derived from `keys`, so the runtime's asks stay cheap
        self.key_instrument: dict[int, int] = {}  # client order id -> its instrument
        # queued key -> intent, side, price, lots, order type, time in force, expiry
        self.requests: dict[int, tuple[int, int, int, int, int, int, int]] = {}
        self.final_orders: dict[int, None] = {}  # final orders, oldest first: the next to retire
        self._limits = {r.scope: r for r in config.rate_limits}
        self.buckets: dict[int, tuple[int, int]] = {r.scope: (r.capacity, 0) for r in config.rate_limits}
        self.feed_gaps: dict[int, tuple[int, int]] = {}  # instrument -> last gap (from, to)
        self.control = Control()
        self._handlers: dict[int, Callable[[Event, list[Change]], None]] = {
            EventKind.BBO: self._bbo,
            EventKind.TRADE: self._trade,
            EventKind.LEVEL_SET: self._level_set,
            EventKind.BOOK_CLEAR: self._book_clear,
            EventKind.ORDER_ADD: self._order_add,
            EventKind.ORDER_MODIFY: self._order_modify,
            EventKind.ORDER_CANCEL: self._order_reduce,
            EventKind.ORDER_FILL: self._order_reduce,
            EventKind.SNAPSHOT_BEGIN: _no_change,
            EventKind.SNAPSHOT_END: _no_change,
            EventKind.TRADING_STATUS: _no_change,
            EventKind.RISK_DECISION: self._risk_decision,
            EventKind.DISPATCH: self._dispatch,
            EventKind.RATE_LIMIT_CONSUMED: self._rate_limit,
            EventKind.TRADE_CORRECT: self._trade_correct,
            EventKind.CHECKPOINT: _no_change,
            EventKind.FEED_GAP: self._feed_gap,
        }
        for kind, (event, answers) in _EXECUTION.items():
            self._handlers[kind] = self._execution(event, answers)
        for kind, update in _CONTROL.items():
            self._handlers[kind] = self._control(update)

    # -------------------------------------------------------------- snapshots
    _DOMAINS = (
        "quotes",
        "levels",
        "book_orders",
        "orders",
        "order_fills",
        "keys",
        "key_instrument",
        "requests",
        "final_orders",
        "buckets",
        "feed_gaps",
        "positions",
    )

    def snapshot(self) -> dict:
        """A copy of State and its digest at this position; values are immutable tuples."""
        data = {name: dict(getattr(self, name)) for name in self._DOMAINS}
        data["order_fills"] = {coid: dict(fills) for coid, fills in self.order_fills.items()}
        return {
            **data,
            "control": self.control,
            "position": self.position,
            "digest": self.digest,
            "digest_records": tuple(self.digest_records),
            "now": self.now,
            "digests": self.digests,
        }

    @classmethod
    def restore(cls, config: CoreConfig, snapshot: dict) -> Core:
        """A Core that continues exactly where the snapshot was taken."""
        core = cls(config, digests=snapshot["digests"])
        for name in cls._DOMAINS:
            setattr(core, name, dict(snapshot[name]))
        core.order_fills = {coid: dict(fills) for coid, fills in snapshot["order_fills"].items()}
        core._queued = {coid for coid, key in core.keys.items() if key.state == ec.S_QUEUED}
        core.control, core.position, core.digest = (
            snapshot["control"],
            snapshot["position"],
            snapshot["digest"],
        )
        core.now = snapshot["now"]
        core.digest_records = list(snapshot["digest_records"])
        core._open_block_end = snapshot["position"]
        return core

    # ------------------------------------------------------------------ fold
    def apply(self, ev: Event) -> StepResult:
        if ev.position <= self.position:
            raise InvariantViolation(
                ev.position, ev, "positions_increase", f"position {self.position}", f"position {ev.position}"
            )
        changes: list[Change] = []
        clock = self.now
        if ev.ts_receive > clock and not ev.flags & _BAD_RECEIVE_TS:
            self.now = ev.ts_receive
        try:
            self._handlers[ev.kind](ev, changes)
        except BaseException:
            self.now = clock  # handlers check before they change anything; the clock goes back too
            raise
        self.position = ev.position
        frozen = tuple(changes)
        if self.digests:
            if ev.kind in _MARKET_RECORD_KINDS:  # one change: ("level"|"quote", instrument, *values)
                change = frozen[0]
                record = market_record(ev.position, self.now, ev.kind, change[1], (*change[2:], 0, 0, 0)[:6])
            else:
                record = repr((ev.position, (self.now, *frozen))).encode()
            self._digest_record(ev.position, record)
        return StepResult(ev.position, self.digest, frozen)

    def _digest_record(self, position: int, record: bytes) -> None:
        """Add a position's record to the open block; a block ends on each multiple of `digest_block`."""
        if self._block == 1:
            self.digest = link(self.digest, record)
            return
        records = self.digest_records
        if records and (position - 1) // self._block != (self._open_block_end - 1) // self._block:
            self.seal()  # positions skipped past the open block's end: it ends here
        records.append(record)
        self._open_block_end = position
        if position % self._block == 0:
            self.seal()

    def digest_market_records(self, position: np.ndarray, raw: bytes) -> list[tuple[int, bytes]]:
        """`_digest_record` for a run of binary market records at once (`raw`, one per position, in
        order): the same blocks, sealed at the same positions. Returns the blocks it sealed, as
        (the row after which `digest` became this, digest); row -1 seals the block open before."""
        size = len(raw) // len(position)
        sealed: list[tuple[int, bytes]] = []
        if self._block == 1:
            digest = self.digest
            for row, start in enumerate(range(0, len(raw), size)):
                digest = link(digest, raw[start : start + size])
                sealed.append((row, digest))
            self.digest = digest
            return sealed
        blocks = (position - 1) // self._block
        if self.digest_records and blocks[0] != (self._open_block_end - 1) // self._block:
            self.seal()  # positions skipped past the open block's end: it ends before the first row
            sealed.append((-1, self.digest))
        ends = position % self._block == 0  # a block ends after these rows, or where positions skip one
        ends[:-1] |= blocks[1:] != blocks[:-1]
        start = 0
        for end in (np.flatnonzero(ends) + 1).tolist():
            self.digest_records.append(raw[start * size : end * size])
            self.seal()
            sealed.append((end - 1, self.digest))
            start = end
        if start < len(position):
            self.digest_records.append(raw[start * size :])
        self._open_block_end = int(position[-1])
        return sealed

    def seal(self) -> None:
        """Close the open block: `digest` then covers every position applied."""
        if self.digest_records:
            self.digest = link(self.digest, b"".join(self.digest_records))
            self.digest_records = []

    def current_digest(self) -> bytes:
        """The digest covering every position applied, the open block included (`digest` stops at
        the last block's end); the chain goes on unchanged."""
        return link(self.digest, b"".join(self.digest_records)) if self.digest_records else self.digest

    # ------------------------------------------------------------- decisions
    def dispatchable(self) -> list[int]:
        """Queued commands free to go now (nothing in flight, a token in every bucket), in dispatch order."""
        ready = [
            coid for coid in self._queued if all(self._tokens(scope) >= 1 for scope in self.scopes(coid))
        ]
        return sorted(ready, key=lambda coid: (_DISPATCH_ORDER[self.keys[coid].queued], coid))

    def obligations(self) -> list[Obligation]:
        """When a command held back by the rate limit may go (the earliest token per empty bucket),
        and when the strategy's timer is next due: on each multiple of `timer_ns`, once the stream has begun."""
        timer = self.config.timer_ns
        if not self._queued and not timer:
            return []  # the usual case, asked before every step of a backtest: nothing to build
        due: dict[int, int] = {}
        for coid in sorted(self._queued):
            for scope in self.scopes(coid):
                if self._tokens(scope) < 1:
                    due[scope] = self.buckets[scope][1] + self._limits[scope].refill_ns
        found = [Obligation(ts, RATE_LIMIT_WAKEUP, scope) for scope, ts in due.items()]
        if timer and self.position > 0:
            found.append(Obligation((self.now // timer + 1) * timer, TIMER_WAKEUP, 0))
        return sorted(found)

    def scopes(self, coid: int) -> list[int]:
        """The rate-limit buckets a request for this key must take a token from."""
        instrument = self.key_instrument.get(coid)
        return [r.scope for r in self.config.rate_limits if r.instrument in (None, instrument)]

    def _tokens(self, scope: int) -> int:
        """Tokens in a bucket at `now`: what was left, plus one per refill period since."""
        tokens, since = self.buckets[scope]
        return min(self._limits[scope].capacity, tokens + (self.now - since) // self._limits[scope].refill_ns)

    # ---------------------------------------------------------------- market
    def _bbo(self, ev: Event, changes: list[Change]) -> None:
        quote = self.quotes.get(ev.instrument, Quote())._replace(
            bid_price=ev.bid_price, bid_qty=ev.bid_qty, ask_price=ev.ask_price, ask_qty=ev.ask_qty
        )
        self._set_quote(ev.instrument, quote, changes)

    def _trade(self, ev: Event, changes: list[Change]) -> None:
        quote = self.quotes.get(ev.instrument, Quote())._replace(last_price=ev.price, last_qty=ev.qty)
        self._set_quote(ev.instrument, quote, changes)

    def _set_quote(self, instrument: int, quote: Quote, changes: list[Change]) -> None:
        self.quotes[instrument] = quote
        changes.append(("quote", instrument, *quote))

    def _level_set(self, ev: Event, changes: list[Change]) -> None:
        self._set_level((ev.instrument, ev.side, ev.price), ev.qty, changes)

    def _set_level(self, key: tuple[int, int, int], lots: int, changes: list[Change]) -> None:
        if lots:
            self.levels[key] = lots
        else:
            self.levels.pop(key, None)
        changes.append(("level", *key, lots))

    def _book_clear(self, ev: Event, changes: list[Change]) -> None:
        for key in [k for k in self.levels if k[0] == ev.instrument]:
            del self.levels[key]
        for key in [k for k in self.book_orders if k[0] == ev.instrument]:
            del self.book_orders[key]
        changes.append(("book_clear", ev.instrument))

    def _order_add(self, ev: Event, changes: list[Change]) -> None:
        key = (ev.instrument, ev.order_id)
        if key in self.book_orders:
            changes.append(("rejected", "book", ev.order_id, "duplicate_order_id"))
            return
        self.book_orders[key] = (ev.side, ev.price, ev.qty)
        level = (ev.instrument, ev.side, ev.price)
        self._set_level(level, self.levels.get(level, 0) + ev.qty, changes)

    def _order_modify(self, ev: Event, changes: list[Change]) -> None:
        """A modify is a full reduce of the resting order and an add at its new price and size."""
        resting = self.book_orders.get((ev.instrument, ev.order_id))
        if resting is None:
            changes.append(("rejected", "book", ev.order_id, "unknown_order"))
            return
        if self._remove_resting(ev.instrument, ev.order_id, resting[2], changes):
            self._order_add(ev, changes)

    def _order_reduce(self, ev: Event, changes: list[Change]) -> None:
        """A cancel (full or partial) or an execution of a resting order removes `qty` lots."""
        self._remove_resting(ev.instrument, ev.order_id, ev.qty, changes)

    def _remove_resting(self, instrument: int, order_id: int, lots: int, changes: list[Change]) -> bool:
        """Take `lots` off a resting order and its level; refuse, changing nothing, if either would go below 0."""
        key = (instrument, order_id)
        resting = self.book_orders.get(key)
        if resting is None or lots > resting[2]:
            changes.append(("rejected", "book", order_id, "unknown_order" if resting is None else "overfill"))
            return False
        side, price, held = resting
        level = (instrument, side, price)
        remaining = self.levels.get(level, 0) - lots
        if remaining < 0:
            changes.append(("rejected", "book", level, "negative_level"))
            return False
        if held == lots:
            del self.book_orders[key]
        else:
            self.book_orders[key] = (side, price, held - lots)
        self._set_level(level, remaining, changes)
        return True

    # -------------------------------------------------------------- execution
    def _execution(self, order_event: int, answers: bool) -> Callable[[Event, list[Change]], None]:
        """A handler for an execution report: the order kernel first, then execution control."""

        def handle(ev: Event, changes: list[Change]) -> None:
            coid = ev.client_order_id
            if coid not in self.orders:
                changes.append(("rejected", "order", coid, "unknown_order"))
                return
            fills = self.order_fills.get(coid, {})
            qty = ev.qty
            if order_event == order.E_FILL and ev.trade_id in fills:
                changes.append(("rejected", "order", coid, "duplicate_execution"))
                return
            if order_event == order.E_BUST:
                if ev.trade_id not in fills:
                    changes.append(("rejected", "order", coid, "unknown_execution"))
                    return
                qty = fills[ev.trade_id][0]  # a bust voids the whole execution it names
            was_final = self.orders[coid].state in FINAL_ORDER_STATES
            if not self._step_order(coid, order_event, qty, 0, changes):
                return
            if order_event == order.E_FILL:
                terms = (qty, ev.instrument, ev.side, ev.price, ev.fee)
                self.order_fills.setdefault(coid, {})[ev.trade_id] = terms
                changes.append(("fill", coid, ev.trade_id, qty))
                self._move_position(terms, False, changes)
            elif order_event == order.E_BUST:
                self._move_position(fills.pop(ev.trade_id), True, changes)
                changes.append(("fill", coid, ev.trade_id, 0))
            self._tell_execution_control(coid, was_final, answers, changes)

        return handle

    def _trade_correct(self, ev: Event, changes: list[Change]) -> None:
        coid = ev.client_order_id
        was = self.order_fills.get(coid, {}).get(ev.trade_id)
        if coid not in self.orders or was is None:
            changes.append(("rejected", "order", coid, "unknown_execution"))
            return
        was_final = self.orders[coid].state in FINAL_ORDER_STATES
        if self._step_order(coid, order.E_CORRECT, was[0], ev.qty, changes):
            _, instrument, side, _, fee = was
            now = (ev.qty, instrument, side, ev.price, fee)  # the fee stays as charged
            self.order_fills[coid][ev.trade_id] = now
            changes.append(("fill", coid, ev.trade_id, ev.qty))
            self._move_position(was, True, changes)
            self._move_position(now, False, changes)
            self._tell_execution_control(coid, was_final, False, changes)

    def _move_position(
        self, terms: tuple[int, int, int, int, int], undo: bool, changes: list[Change]
    ) -> None:
        """Our fill (or its bust, `undo`) moves the instrument's position."""
        qty, instrument, side, price, fee = terms
        position = trade(self.positions.get(instrument, _FLAT), side, price, qty, fee, undo)
        self.positions[instrument] = position
        changes.append(("position", instrument, *position))

    def _tell_execution_control(
        self, coid: int, was_final: bool, answers: bool, changes: list[Change]
    ) -> None:
        """An answer to the request in flight, or news that the order became final or works again."""
        final = self.orders[coid].state in FINAL_ORDER_STATES
        if answers:
            self._step_key(coid, ec.E_ANSWER, int(final), changes)
        elif final and not was_final:
            self._step_key(coid, ec.E_ORDER_FINAL, 0, changes)
        elif was_final and not final:
            self._step_key(coid, ec.E_ORDER_REOPENED, 0, changes)
        if final and not was_final:
            self.final_orders[coid] = None
        elif was_final and not final:
            del self.final_orders[coid]
        if final:
            self._release_excess(changes)

    def _release_excess(self, changes: list[Change]) -> None:
        """Keep the newest `retained_final_orders` final orders; release the oldest beyond them.

        Only a key with nothing queued or in flight can go: execution control's `retire` must
        accept it. The others wait their turn in place. A released order leaves State entirely,
        so State stays bounded however long the stream; a report naming it later is refused
        `unknown_order`.
        """
        excess = len(self.final_orders) - self.config.retained_final_orders
        if excess <= 0:
            return
        idle = (coid for coid in self.final_orders if self.keys[coid].state == ec.S_IDLE)
        for coid in list(islice(idle, excess)):  # oldest first; usually the very first one
            if not self._step_key(coid, ec.E_RETIRE, 0, changes):
                continue  # refused (recorded): the key is not free to go yet
            del self.final_orders[coid]
            for domain in (self.orders, self.order_fills, self.keys, self.key_instrument, self.requests):
                domain.pop(coid, None)
            changes.append(("released", coid))

    def _step_order(self, coid: int, event: int, a0: int, a1: int, changes: list[Change]) -> bool:
        before = self.orders[coid]
        after = order.step(before, event, a0, a1)
        if isinstance(after, order.Rejection):
            changes.append(("rejected", "order", coid, after.reason))
            return False
        if after is not before:
            self.orders[coid] = after
            changes.append(("order", coid, *after))
        return True

    def _step_key(self, coid: int, event: int, arg: int, changes: list[Change]) -> bool:
        before = self.keys.get(coid) or ec.initial()
        after = ec.step(before, event, arg)
        if isinstance(after, ec.Rejection):
            changes.append(("rejected", "execution_control", coid, after.reason))
            return False
        if after is not before or coid not in self.keys:
            self.keys[coid] = after
            changes.append(("key", coid, *after))
            if after.state == ec.S_QUEUED:
                self._queued.add(coid)
            else:
                self._queued.discard(coid)
        if after.queued == ec.SLOT_EMPTY:
            self.requests.pop(coid, None)
        if after == _IDLE_KEY and coid not in self.orders:  # a NEW withdrawn before it was sent
            del self.keys[coid]
            self.key_instrument.pop(coid, None)
        return True

    # ---------------------------------------------------------------- intents
    def _risk_decision(self, ev: Event, changes: list[Change]) -> None:
        if ev.command not in _COMMAND_EVENT:
            changes.append(("rejected", "execution_control", ev.client_order_id, "unknown_command"))
            return
        coid = ev.client_order_id
        changes.append(("risk", ev.intent_id, coid, ev.command, ev.allowed, ev.reason))
        if not ev.allowed:
            return
        accepted = self._step_key(coid, _COMMAND_EVENT[ev.command], 0, changes)
        names_instrument = ev.command == _NEW or coid not in self.key_instrument  # only a NEW names it anew
        if (
            accepted
            and coid in self.keys
            and names_instrument
            and self.key_instrument.get(coid) != ev.instrument
        ):
            self.key_instrument[coid] = ev.instrument
            changes.append(("key_instrument", coid, ev.instrument))
        if accepted and self.keys.get(coid, _IDLE_KEY).queued != ec.SLOT_EMPTY:
            self.requests[coid] = (ev.intent_id, *_order_terms(ev))  # now the queued request
            changes.append(("request", coid, *self.requests[coid]))

    def _dispatch(self, ev: Event, changes: list[Change]) -> None:
        """The request sent is the command execution control had queued; the event must agree."""
        coid = ev.client_order_id
        queued = self.keys[coid].queued if coid in self.keys else ec.SLOT_EMPTY
        if queued not in (ec.SLOT_EMPTY, ev.command):
            changes.append(("rejected", "execution_control", coid, "command_mismatch"))
            return
        if queued in (ec.SLOT_NEW, ec.SLOT_REPLACE) and self.requests[coid][1:] != _order_terms(ev):
            changes.append(("rejected", "execution_control", coid, "request_mismatch"))
            return
        if ev.reason:  # risk, checked again, denied it: the command leaves the queue unsent
            changes.append(("withdrawn", ev.intent_id, coid, ev.reason))
            self._step_key(coid, ec.E_WITHDRAW, 0, changes)
            return
        if queued in (ec.SLOT_NEW, ec.SLOT_REPLACE) and not 1 <= ev.qty <= order.MAX_QTY:
            changes.append(("rejected", "order", coid, "bad_quantity"))
            return
        token = int(all(self._tokens(scope) >= 1 for scope in self.scopes(coid)))
        if (
            not self._step_key(coid, ec.E_DISPATCH, token, changes)
            or self.keys.get(coid, _IDLE_KEY).inflight == ec.SLOT_EMPTY
        ):
            return  # refused, or a stale command dropped without sending anything
        if queued == ec.SLOT_NEW:  # a fresh order, even for a client order id used before
            self.final_orders.pop(coid, None)
            self.order_fills.pop(coid, None)
            self.orders[coid] = order.initial(ev.qty)
            changes.append(("order", coid, *self.orders[coid]))
        elif coid in self.orders:
            event = order.E_CANCEL_REQUEST if queued == ec.SLOT_CANCEL else order.E_REPLACE_REQUEST
            self._step_order(coid, event, ev.qty, 0, changes)

    def _rate_limit(self, ev: Event, changes: list[Change]) -> None:
        if ev.scope not in self._limits or ev.tokens < 1:
            changes.append(
                ("rejected", "rate_limit", ev.scope, "unknown_scope" if ev.tokens >= 1 else "bad_tokens")
            )
            return
        limit = self._limits[ev.scope]
        tokens, since = self.buckets[ev.scope]
        refilled = self._tokens(ev.scope)
        if refilled < ev.tokens:
            raise InvariantViolation(
                ev.position,
                ev,
                "rate_limit_respected",
                f"{refilled} tokens in scope {ev.scope}",
                f"{ev.tokens} consumed",
            )
        since = self.now if refilled == limit.capacity else since + (refilled - tokens) * limit.refill_ns
        self.buckets[ev.scope] = (refilled - ev.tokens, since)
        changes.append(("bucket", ev.scope, *self.buckets[ev.scope]))

    # ---------------------------------------------------------------- control
    def _control(self, update: Callable[[Control, Event], Control]) -> Callable[[Event, list[Change]], None]:
        def handle(ev: Event, changes: list[Change]) -> None:
            self.control = update(self.control, ev)
            changes.append(("control", *self.control))

        return handle

    def _feed_gap(self, ev: Event, changes: list[Change]) -> None:
        self.feed_gaps[ev.instrument] = (ev.sequence, ev.gap_to)
        changes.append(("feed_gap", ev.instrument, ev.sequence, ev.gap_to))


# Execution report kind -> (order-lifecycle event, whether it answers our in-flight request).
# Unsolicited reports do not; execution control hears of them only when they make the order final.
_EXECUTION: dict[EventKind, tuple[int, bool]] = {
    EventKind.ACK: (order.E_ACK, True),
    EventKind.REJECT: (order.E_REJECT, True),
    EventKind.FILL: (order.E_FILL, False),
    EventKind.CANCEL_ACK: (order.E_CANCELED, True),
    EventKind.CANCEL_REJECT: (order.E_CANCEL_REJECT, True),
    EventKind.REPLACE_ACK: (order.E_REPLACED, True),
    EventKind.REPLACE_REJECT: (order.E_REPLACE_REJECT, True),
    EventKind.EXPIRED: (order.E_EXPIRE, False),
    EventKind.DONE_FOR_DAY: (order.E_DONE_FOR_DAY, False),
    EventKind.VENUE_CANCEL: (order.E_UNSOLICITED_CANCEL, False),
    EventKind.RESTATE: (order.E_RESTATE, False),
    EventKind.TRADE_BUST: (order.E_BUST, False),
}

_CONTROL: dict[EventKind, Callable[[Control, Event], Control]] = {
    EventKind.SESSION_START: lambda c, ev: c._replace(session_open=True),
    EventKind.SESSION_STOP: lambda c, ev: c._replace(session_open=False),
    EventKind.TRADING_ENABLED: lambda c, ev: c._replace(trading_enabled=True),
    EventKind.TRADING_DISABLED: lambda c, ev: c._replace(trading_enabled=False),
    EventKind.KILL_SWITCH: lambda c, ev: c._replace(kill_switch=bool(ev.engaged)),
    EventKind.CONFIG_CHANGE: lambda c, ev: c._replace(config_id=ev.config_id),
    EventKind.WAKEUP: lambda c, ev: c._replace(last_wakeup=ev.due_ts),
}


def _order_terms(ev: Event) -> tuple[int, int, int, int, int, int]:
    """What a request asks the venue for: side, price, lots, order type, time in force, expiry."""
    return (ev.side, ev.price, ev.qty, ev.order_type, ev.tif, ev.expire_ts)


def _no_change(ev: Event, changes: list[Change]) -> None:
    """Markers (snapshot bounds, checkpoints) change no state; their position still enters the digest."""


def replay(events: Iterable[Event], config: CoreConfig) -> Iterator[StepResult]:
    """Fold `events` into a fresh Core, yielding each step's result."""
    core = Core(config)
    for ev in events:
        yield core.apply(ev)
