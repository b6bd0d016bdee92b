"""The Core: fold one canonical event into State, through the domains' handlers and the kernels.

State has four domains, each with its own handlers (`canonicalflow.state._market`,
`_execution`, `_portfolio`, `_control`): market (books with our queue places, quotes), execution
(our orders, their intents, execution control, rate limits), the portfolio (what we hold) and
control (session, trading switch, kill switch, configuration version, feed gaps, wake-ups).
Nothing else changes it: no clock, no I/O, no randomness. Every change an event makes is listed,
digested into the chain (`DigestChain`), and returned; a kernel's refusal is one of those
changes, recorded, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

from canonicalflow.config import CoreConfig
from canonicalflow.errors import InvariantViolation
from canonicalflow.events import Command, Event, EventKind, Flag, Intent
from canonicalflow.state._columnar import apply_market_columns, foldable_rows
from canonicalflow.state._control import ControlState
from canonicalflow.state._digest import MARKET_RECORD_KINDS, DigestChain, market_record
from canonicalflow.state._execution import ExecutionState
from canonicalflow.state._market import MarketState
from canonicalflow.state._portfolio import PortfolioState

__all__ = [
    "RATE_LIMIT_WAKEUP",
    "SNAPSHOT_FORMAT",
    "TIMER_WAKEUP",
    "Core",
    "Obligation",
    "StepResult",
    "replay",
]

Change = tuple[Any, ...]
Handler = Callable[[Event, list[Change]], None]

RATE_LIMIT_WAKEUP = 1  # Obligation.reason: a queued command waits for a rate-limit token
TIMER_WAKEUP = 2  # Obligation.reason: the strategy's timer (`CoreConfig.timer_ns`) is due
_MARKET_RECORD_KINDS = frozenset(MARKET_RECORD_KINDS)
_BINARY_CHANGES = frozenset(("level", "quote"))  # a market kind's one change, recorded in binary
_BAD_RECEIVE_TS = int(Flag.BAD_RECEIVE_TS)  # a plain int: enum arithmetic costs on every event
SNAPSHOT_FORMAT = 4  # 4: books, queue places, order terms and intents in State


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


def _no_change(ev: Event, changes: list[Change]) -> None:
    """A checkpoint marks a position; it changes nothing, and its position still enters the digest."""


class Core:
    """Mutable State at one position; `apply` is the only way it changes.

    `market`, `execution`, `portfolio` and `control` are the domains (read them; never write);
    `position` is the last stream position applied (-1 before any), `now` the clock (the latest
    receive time seen), `chain` the digest chain.
    """

    def __init__(self, config: CoreConfig, digests: bool = True) -> None:
        self.config = config
        self.digests = digests  # off only to measure what the chain costs
        self.position = -1
        self.now = 0  # the latest receive time seen: the Core's only clock
        self.chain = DigestChain(config.digest_block)
        self.portfolio = PortfolioState()
        self.market = MarketState(config, leaves=lambda coid: self.execution.leaves(coid))
        self.execution = ExecutionState(config, self.market, self.portfolio, now=lambda: self.now)
        self.control = ControlState()
        self._handlers: dict[int, Handler] = {
            **self.market.handlers(),
            **self.execution.handlers(),
            **self.control.handlers(),
            int(EventKind.CHECKPOINT): _no_change,
        }

    @property
    def digest(self) -> bytes:
        """The digest up to the last sealed block (every position, with blocks of 1)."""
        return self.chain.digest

    def current_digest(self) -> bytes:
        """The digest covering every position applied, the open block included."""
        return self.chain.current()

    # ------------------------------------------------------------------ fold
    def apply(self, ev: Event) -> StepResult:
        """One event into State: its changes, listed and digested. Twin: `Core.apply_columns`."""
        if ev.position <= self.position:
            raise InvariantViolation(
                ev.position, ev, "positions_increase", f"position {self.position}", f"position {ev.position}"
            )
        changes: list[Change] = []
        clock = self.now
        if ev.ts_receive > clock and not ev.flags & _BAD_RECEIVE_TS:
            self.now = ev.ts_receive
        handler = self._handlers.get(ev.kind)
        try:
            if handler is None:
                changes.append(("rejected", "event", ev.kind, "unknown_kind"))
            else:
                handler(ev, changes)
        except InvariantViolation as violation:
            self.now = clock
            raise (
                violation if violation.position is not None else violation.located(ev.position, ev)
            ) from None
        except BaseException:
            self.now = clock  # the Core's own checks come before any change; the clock goes back too
            raise
        self.position = ev.position
        frozen = tuple(changes)
        if self.digests:
            if ev.kind in _MARKET_RECORD_KINDS and len(frozen) == 1 and frozen[0][0] in _BINARY_CHANGES:
                change = frozen[0]
                record = market_record(ev.position, self.now, ev.kind, change[1], (*change[2:], 0, 0, 0)[:6])
            else:
                record = repr((ev.position, (self.now, *frozen))).encode()
            self.chain.add(ev.position, record)
        return StepResult(ev.position, self.chain.digest, frozen)

    def foldable(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Which rows of a batch `apply_columns` may take (`canonicalflow.state._columnar.foldable_rows`)."""
        return foldable_rows(self, columns)

    def apply_columns(self, columns: dict[str, np.ndarray]) -> list[tuple[int, bytes]]:
        """Rows of level sets, trades and tops of book at once, while nothing of ours rests:
        the State and digest `apply` leaves, one event at a time. Twin of `apply`
        (`canonicalflow.state._columnar.apply_market_columns`); returns the digest blocks sealed.
        Twin: `Core.apply`."""
        return apply_market_columns(self, columns)

    # ------------------------------------------------------------------ reads
    def idle(self) -> bool:
        """Nothing of ours works or waits: no open order, no queued command, no place on a book."""
        execution = self.execution
        return not execution.open_orders and not execution.requests and self.market.quiet()

    def dispatchable(self) -> list[int]:
        """Queued commands free to go now (nothing in flight, a token in every bucket), in dispatch order."""
        return self.execution.dispatchable()

    def queued_intent(self, coid: int) -> Intent:
        """The command a key has queued, as the intent it carries: what a DISPATCH sends."""
        return self.execution.queued_intent(coid)

    def in_flight(self, coid: int) -> Command:
        """The request of this key the venue has not answered (NONE when there is none)."""
        key = self.execution.keys.get(coid)
        return Command(key.inflight) if key is not None else Command.NONE

    def scopes(self, coid: int) -> list[int]:
        """The rate-limit buckets a request for this key takes a token from."""
        return self.execution.scopes(coid)

    def obligations(self) -> list[Obligation]:
        """When a command held back by the rate limit may go (the earliest token per empty bucket),
        and when the strategy's timer is next due: on each multiple of `timer_ns`, once the stream has begun."""
        timer = self.config.timer_ns
        if not self.execution.queued and not timer:
            return []  # the usual case, asked before every step of a backtest: nothing to build
        found = [
            Obligation(ts, RATE_LIMIT_WAKEUP, scope) for scope, ts in self.execution.rate_limit_dues().items()
        ]
        if timer and self.position > 0:
            found.append(Obligation((self.now // timer + 1) * timer, TIMER_WAKEUP, 0))
        return sorted(found)

    # -------------------------------------------------------------- snapshots
    def snapshot(self) -> dict[str, Any]:
        """State and its digest at this position as plain data (lists, ints, strings): equal
        snapshots are equal values, and a snapshot survives JSON unchanged."""
        chain = self.chain
        return {
            "format": SNAPSHOT_FORMAT,
            "position": self.position,
            "now": self.now,
            "digests": self.digests,
            "digest": chain.digest.hex(),
            "digest_open_block": b"".join(chain.records).hex(),  # the records not yet sealed, as one
            "market": self.market.to_data(),
            "execution": self.execution.to_data(),
            "portfolio": self.portfolio.to_data(),
            "control": self.control.to_data(),
        }

    @classmethod
    def restore(cls, config: CoreConfig, snapshot: dict[str, Any]) -> Core:
        """A Core that continues exactly where the snapshot was taken."""
        core = cls(config, digests=snapshot["digests"])
        core.position, core.now = snapshot["position"], snapshot["now"]
        open_block = bytes.fromhex(snapshot["digest_open_block"])
        core.chain.restore(
            bytes.fromhex(snapshot["digest"]), (open_block,) if open_block else (), snapshot["position"]
        )
        core.market.restore(snapshot["market"])
        core.execution.restore(snapshot["execution"])
        core.portfolio.restore(snapshot["portfolio"])
        core.control.restore(snapshot["control"])
        return core


def replay(events: Iterable[Event], config: CoreConfig) -> Iterator[StepResult]:
    """Fold `events` into a fresh Core, yielding each step's result."""
    core = Core(config)
    for ev in events:
        yield core.apply(ev)
