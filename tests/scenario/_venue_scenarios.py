"""A tiny builder for venue scenarios: a hand-made market stream, a scripted strategy, its reports.

Times are written relative to `T0`, a UTC midnight, so a report's time reads as "ns into the
scenario" and a DAY boundary is simply a time of day. Market events are placed at given
microseconds; by default we receive them at the instant the venue acts on them (no feed latency).
With the default latency (100 ns entry, 100 ns response), an intent sent after the market event at
t µs reaches the venue at t µs + 100 ns, and its answer reaches us at t µs + 200 ns.

    run = run_scenario(
        [level(0, BID, 100, 5), trade(1, SELL, 100, 7)],
        [after(0, new(1, BUY, 100, 3))],
    )
    assert run.reports() == [Report("ACK", 100, 200, price=100, qty=3), ...]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from canonicalflow._generated.order_lifecycle_kernel import State as OrderState
from canonicalflow.backtest._loop import Simulation
from canonicalflow.config import CoreConfig, Instrument
from canonicalflow.events import Category, Event, EventKind, Intent, OrderType, TimeInForce, category_of
from canonicalflow.queue import QueuePlace
from canonicalflow.runtime import Sequencer
from canonicalflow.state import Core, StepResult, replay
from canonicalflow.venue import LatencyConfig, SimulatedVenue, VenueConfig

__all__ = [
    "ASK",
    "BID",
    "BUY",
    "CORE",
    "DAY",
    "DAY_NS",
    "FOK",
    "GTD",
    "INSTRUMENT",
    "IOC",
    "MAKER",
    "MARKET",
    "POST_ONLY",
    "SELL",
    "T0",
    "TAKER",
    "Report",
    "Run",
    "Script",
    "Send",
    "after",
    "as_report",
    "at_time",
    "cancel",
    "config",
    "level",
    "new",
    "order_add",
    "order_cancel",
    "order_fill",
    "order_modify",
    "replace",
    "run_scenario",
    "trade",
    "us",
]

DAY_NS = 86_400_000_000_000
T0 = 20_000 * DAY_NS  # 2024-10-04T00:00:00Z: times of day are times since T0
INSTRUMENT = 1
BID = BUY = 1
ASK = SELL = -1
MAKER, TAKER = 1, 2
MARKET = int(OrderType.MARKET)
IOC, FOK, POST_ONLY, GTD, DAY = (
    int(TimeInForce.IOC),
    int(TimeInForce.FOK),
    int(TimeInForce.POST_ONLY),
    int(TimeInForce.GTD),
    int(TimeInForce.DAY),
)

# One instrument: a tick of 0.1, a lot of 1, cents (currency_decimals defaults to 2).
CORE = CoreConfig(
    version="venue-scenarios",
    instruments=(Instrument(id=INSTRUMENT, symbol="X", tick_size="0.1", lot_size="1"),),
)


def us(micros: float) -> int:
    """Absolute ns of a time given in µs since T0 (fractions allowed: 1.05 is 1 µs 50 ns)."""
    return T0 + round(micros * 1_000)


def config(**fields: Any) -> VenueConfig:
    """A VenueConfig with 100 ns entry and response latency unless `latency` is given."""
    fields.setdefault("latency", LatencyConfig(entry_ns=100, response_ns=100))
    return VenueConfig(**fields)


# ----------------------------------------------------------------------------- market events
def _market(
    kind: EventKind, at_us: float, feed_ns: int = 0, instrument: int = INSTRUMENT, **fields: int
) -> Event:
    ts = us(at_us)
    return Event(
        kind=int(kind), ts_exchange=ts, ts_receive=ts + feed_ns, instrument=instrument, flags=1, **fields
    )


def level(
    at_us: float, side: int, price: int, qty: int, feed_ns: int = 0, instrument: int = INSTRUMENT
) -> Event:
    """LEVEL_SET: `qty` lots now shown at (side, price); 0 deletes the level."""
    return _market(EventKind.LEVEL_SET, at_us, feed_ns, instrument, side=side, price=price, qty=qty)


def trade(
    at_us: float, aggressor: int, price: int, qty: int, feed_ns: int = 0, instrument: int = INSTRUMENT
) -> Event:
    """TRADE of `qty` lots at `price`; `aggressor` is the side that took (SELL hits the bids)."""
    return _market(EventKind.TRADE, at_us, feed_ns, instrument, side=aggressor, price=price, qty=qty)


def order_add(at_us: float, order_id: int, side: int, price: int, qty: int) -> Event:
    return _market(EventKind.ORDER_ADD, at_us, 0, order_id=order_id, side=side, price=price, qty=qty)


def order_cancel(at_us: float, order_id: int, side: int, price: int, qty: int) -> Event:
    return _market(EventKind.ORDER_CANCEL, at_us, 0, order_id=order_id, side=side, price=price, qty=qty)


def order_fill(at_us: float, order_id: int, side: int, price: int, qty: int) -> Event:
    return _market(EventKind.ORDER_FILL, at_us, 0, order_id=order_id, side=side, price=price, qty=qty)


def order_modify(at_us: float, order_id: int, side: int, price: int, qty: int) -> Event:
    return _market(EventKind.ORDER_MODIFY, at_us, 0, order_id=order_id, side=side, price=price, qty=qty)


# ----------------------------------------------------------------------------------- intents
def new(
    coid: int,
    side: int,
    price: int,
    qty: int,
    tif: int = 0,
    order_type: int = 0,
    expire_ts: int = 0,
    instrument: int = INSTRUMENT,
) -> Intent:
    """A NEW order intent (limit GTC unless said otherwise); the script numbers the intents."""
    return Intent(0, instrument, coid, 1, side, price, qty, order_type, tif, expire_ts)


def replace(coid: int, side: int, price: int, qty: int, tif: int = 0) -> Intent:
    """A REPLACE: the order's new price and total quantity (side and tif as the order's)."""
    return Intent(0, INSTRUMENT, coid, 2, side, price, qty, 0, tif, 0)


def cancel(coid: int) -> Intent:
    return Intent(0, INSTRUMENT, coid, 3)


@dataclass(frozen=True)
class Send:
    """Intents the strategy sends after seeing market event `after_event` (0-based) or at `at_ns`.

    `at_ns` (absolute ns) fires on the first event of any kind the strategy sees at or after it.
    """

    intents: tuple[Intent, ...]
    after_event: int | None = None
    at_ns: int | None = None


def after(index: int, *intents: Intent) -> Send:
    """Send `intents` right after the strategy sees market event number `index` (0-based)."""
    return Send(intents, after_event=index)


def at_time(at_us: float, *intents: Intent) -> Send:
    """Send `intents` on the first event the strategy receives at or after `at_us` µs."""
    return Send(intents, at_ns=us(at_us))


class Script:
    """The scripted strategy: a `Decide` that replays its sends, numbering intents 1, 2, ..."""

    def __init__(self, sends: Sequence[Send]) -> None:
        self._pending = list(sends)
        self._market_seen = -1
        self._next_intent = 0
        self.seen: list[Event] = []  # every event `decide` was called with
        self.orders: list[dict[int, OrderState]] = []  # core.execution.orders after each of them

    def __call__(self, core: Core, ev: Event, step: StepResult) -> Iterable[Intent]:
        self.seen.append(ev)
        self.orders.append(dict(core.execution.orders))
        if ev.kind < 20:
            self._market_seen += 1
        due = [
            s
            for s in self._pending
            if (s.after_event is not None and s.after_event == self._market_seen and ev.kind < 20)
            or (s.at_ns is not None and core.now >= s.at_ns)
        ]
        out: list[Intent] = []
        for s in due:
            self._pending.remove(s)
            for intent in s.intents:
                self._next_intent += 1
                out.append(intent._replace(intent_id=self._next_intent))
        return out


# ---------------------------------------------------------------------------------- reports
class Report(NamedTuple):
    """An execution report as a test states it: times in ns since T0."""

    kind: str
    at: int  # ts_exchange: when the venue acted
    received: int  # ts_receive: when we got it
    price: int = 0
    qty: int = 0
    liquidity: int = 0
    fee: int = 0
    reason: int = 0
    coid: int = 1


def as_report(ev: Event) -> Report:
    return Report(
        EventKind(ev.kind).name,
        ev.ts_exchange - T0,
        ev.ts_receive - T0,
        ev.price,
        ev.qty,
        ev.liquidity,
        ev.fee,
        ev.reason,
        ev.client_order_id,
    )


class _ProbedVenue(SimulatedVenue):
    """The simulated venue, noting our queue places after it applies each market event."""

    def __init__(self, core_config: CoreConfig, config: VenueConfig, watch: Sequence[int]) -> None:
        super().__init__(core_config, config)
        self._watch = tuple(watch)
        self.places: list[dict[int, QueuePlace | None]] = []

    def on_market(self, ev: Event) -> None:
        super().on_market(ev)
        self.places.append({coid: self.queue_place(coid) for coid in self._watch})


@dataclass
class Run:
    """What a scenario produced: the Core, the venue, every recorded event, what `decide` saw."""

    core: Core
    venue: _ProbedVenue
    recorded: list[Event]
    seen: list[Event] = field(default_factory=list)
    orders_seen: list[dict[int, OrderState]] = field(default_factory=list)

    def reports(self) -> list[Report]:
        """The execution reports, in the order the sequencer recorded them."""
        return [
            as_report(ev) for ev in self.recorded if category_of(EventKind(ev.kind)) == Category.EXECUTION
        ]

    def core_rejections(self) -> list[tuple[str, tuple[object, ...]]]:
        """Every refusal the Core recorded while folding this run's events: (event kind, change)."""
        return [
            (EventKind(ev.kind).name, change)
            for ev, result in zip(self.recorded, replay(self.recorded, self.core.config), strict=True)
            for change in result.rejections
        ]

    def order_after(self, kind: str, coid: int = 1) -> OrderState | None:
        """Our order's lifecycle state (core.execution.orders[coid]) right after we received its first `kind` report."""
        for ev, orders in zip(self.seen, self.orders_seen, strict=True):
            if ev.kind == EventKind[kind] and ev.client_order_id == coid:
                return orders.get(coid)
        raise AssertionError(f"no {kind} report for order {coid}")

    def place_after(self, index: int, coid: int = 1) -> QueuePlace | None:
        """(lots ahead, lots shown) of order `coid` after the venue applied market event `index`.

        The venue applies market events in exchange-time order; in these scenarios that is stream order.
        """
        return self.venue.places[index][coid]


def run_scenario(
    market: Sequence[Event],
    sends: Sequence[Send],
    venue_config: VenueConfig | None = None,
    watch: Sequence[int] = (1,),
    core_config: CoreConfig = CORE,
    core_accepts_all: bool = True,
) -> Run:
    """Run the scripted strategy over `market` against a simulated venue (as `simulate` does).

    With `core_accepts_all`, the run must not make the Core refuse anything: every report the
    venue sent fits the order lifecycle, and every scripted intent was a valid request.
    """
    venue_config = venue_config or config()
    venue = _ProbedVenue(core_config, venue_config, watch)
    core = Core(core_config.model_copy(update={"market": venue_config.book_model()}))  # as a backtest
    recorded: list[Event] = []
    script = Script(sends)
    sequencer = Sequencer(core, recorded.append, lambda intent: 0, script, send=venue.send)
    Simulation(market, sequencer, venue).run()
    run = Run(core, venue, recorded, script.seen, script.orders)
    if core_accepts_all:
        assert run.core_rejections() == [], "the Core refused part of this run"
    return run
